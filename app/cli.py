"""`python -m app projects ...` and `python -m app keys ...`: bootstrap from a shell.

The commands talk to the configured store directly:

- with `MONGODB_URI` (or `LLMD_MONGODB_URI`), to that database;
- with the embedded store and no service running, they start the store on
  the data folder for the length of the command;
- with the embedded store and the service running (it holds the data
  folder's lock), they connect to the store the service started, whose port
  it publishes in `<data dir>/store.json`.

A key revoked here is refused by a running service within
`LLMD_KEY_CACHE_TTL_S` seconds (its verification cache).
"""

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.db import connect, init_db
from app.documents import ApiKey
from app.documents.project import Scope
from app.errors import AppError
from app.logconfig import configure_logging
from app.services import keys, projects
from app.settings import Settings, get_settings
from app.store.address import data_dir_is_locked, read_address
from app.store.embedded import EmbeddedStore, StoreStartError


class CliError(Exception):
    """A failure the command reports as `error: <message>` with exit code 1."""


@asynccontextmanager
async def store_session(settings: Settings) -> AsyncIterator[None]:
    """Connect to the configured store (see the module docstring) for one command."""
    embedded: EmbeddedStore | None = None
    if settings.mongodb_uri is not None:
        uri = settings.mongodb_uri.get_secret_value()
    elif data_dir_is_locked(settings.data_dir):
        address = read_address(settings.data_dir)
        if address is None:
            message = (
                f"a running service holds {settings.data_dir.resolve()} but published "
                "no store address; stop it, or manage keys through GraphQL with the "
                "server admin token (LLMD_ADMIN_TOKEN)"
            )
            raise CliError(message)
        uri = f"mongodb://127.0.0.1:{address['port']}/?directConnection=true"
    else:
        embedded = EmbeddedStore(settings.data_dir)
        try:
            await embedded.start()
        except StoreStartError as error:
            raise CliError(str(error)) from None
        uri = embedded.uri

    client = connect(uri, settings)
    try:
        await init_db(client, settings)
        yield
    finally:
        await client.close()
        if embedded is not None:
            await embedded.stop()


def _parse_scopes(text: str) -> list[Scope]:
    scopes = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [scope for scope in scopes if scope not in keys.ALL_SCOPES]
    if unknown or not scopes:
        message = (
            f"scopes are a comma-separated list of ingest, read, admin; got {text!r}"
        )
        raise argparse.ArgumentTypeError(message)
    return [scope for scope in keys.ALL_SCOPES if scope in scopes]


def _key_row(api_key: ApiKey) -> dict[str, object]:
    return {
        "id": api_key.key_id,
        "name": api_key.name,
        "prefix": api_key.prefix,
        "last_four": api_key.last_four,
        "scopes": list(api_key.scopes),
        "created_at": api_key.created_at.isoformat(),
        "last_used_at": api_key.last_used_at.isoformat()
        if api_key.last_used_at
        else None,
        "revoked_at": api_key.revoked_at.isoformat() if api_key.revoked_at else None,
    }


def _print_secret(secret: str) -> None:
    print("Secret (shown only once; store it now, it cannot be recovered):")
    print(f"  {secret}")


async def _run(args: argparse.Namespace, settings: Settings) -> None:
    async with store_session(settings):
        match (args.command, args.verb):
            case ("projects", "create"):
                created = await projects.create_project(args.slug, args.name)
                if args.json:
                    print(
                        json.dumps(
                            {
                                "project": created.project.id,
                                "admin_key": _key_row(created.admin_key.api_key),
                                "secret": created.admin_key.secret,
                            }
                        )
                    )
                    return
                print(
                    f"Created project '{created.project.id}' ({created.project.name})."
                )
                print("Its admin key (admin, read, ingest):")
                _print_secret(created.admin_key.secret)
            case ("projects", "list"):
                rows = await projects.list_projects()
                if args.json:
                    print(
                        json.dumps([{"id": row.id, "name": row.name} for row in rows])
                    )
                    return
                for row in rows:
                    print(f"{row.id}\t{row.name}")
            case ("keys", "create"):
                issued = await keys.create_key(args.project, args.name, args.scopes)
                if args.json:
                    print(
                        json.dumps(
                            {**_key_row(issued.api_key), "secret": issued.secret}
                        )
                    )
                    return
                scopes = ", ".join(issued.api_key.scopes)
                print(
                    f"Created key '{issued.api_key.name}' (id {issued.api_key.key_id}, "
                    f"scopes: {scopes}) in project '{args.project}'."
                )
                _print_secret(issued.secret)
            case ("keys", "list"):
                api_keys = await keys.list_keys(args.project)
                if args.json:
                    print(json.dumps([_key_row(api_key) for api_key in api_keys]))
                    return
                for api_key in api_keys:
                    state = "revoked" if api_key.revoked_at else "active"
                    print(
                        f"{api_key.key_id}\t{api_key.name}\t{api_key.prefix}..."
                        f"{api_key.last_four}\t{','.join(api_key.scopes)}\t{state}"
                    )
            case ("keys", "revoke"):
                verifier = keys.KeyVerifier(ttl_s=0)
                revoked = await keys.revoke_key(
                    args.project, args.key_id, verifier, keep_an_admin=not args.force
                )
                if args.json:
                    print(json.dumps(_key_row(revoked)))
                    return
                print(f"Revoked key {revoked.key_id} ('{revoked.name}').")


def add_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    """Register `projects` and `keys` on the top-level parser."""
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument(
        "--json", action="store_true", help="print JSON for scripts instead of text"
    )

    project_parser = commands.add_parser("projects", help="create and list projects")
    project_verbs = project_parser.add_subparsers(dest="verb", required=True)
    create = project_verbs.add_parser(
        "create", parents=[json_flag], help="create a project and its admin key"
    )
    create.add_argument("--slug", required=True, help="id: lowercase, digits, hyphens")
    create.add_argument("--name", required=True, help="display name")
    project_verbs.add_parser("list", parents=[json_flag], help="list every project")

    key_parser = commands.add_parser("keys", help="create, list and revoke API keys")
    key_verbs = key_parser.add_subparsers(dest="verb", required=True)
    create_key = key_verbs.add_parser(
        "create", parents=[json_flag], help="create a key; prints its secret once"
    )
    create_key.add_argument("--project", required=True, help="the project's slug")
    create_key.add_argument(
        "--scopes",
        required=True,
        type=_parse_scopes,
        help="comma-separated: ingest, read, admin (e.g. ingest or read,ingest)",
    )
    create_key.add_argument("--name", default="cli key", help="what the key is for")
    list_keys = key_verbs.add_parser(
        "list", parents=[json_flag], help="list keys (prefix and last four only)"
    )
    list_keys.add_argument("--project", required=True)
    revoke = key_verbs.add_parser("revoke", parents=[json_flag], help="revoke a key")
    revoke.add_argument("--project", required=True)
    revoke.add_argument("--key-id", required=True, help="the id from `keys list`")
    revoke.add_argument(
        "--force",
        action="store_true",
        help="allow revoking the project's last active admin key",
    )


def run(args: argparse.Namespace) -> int:
    """Run a `projects` or `keys` command; 0 on success, 1 on failure."""
    settings = get_settings()
    # Logs go to stderr, and only warnings: stdout holds the command's answer.
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    try:
        asyncio.run(_run(args, settings))
    except (AppError, CliError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
