"""Command line: `python -m app serve` and `python -m app export-schema`."""

import argparse
import errno
import socket
import sys
from pathlib import Path

import uvicorn

from app.main import StartupInfo, create_app
from app.settings import get_settings
from app.store.embedded import StoreStartError, check_data_dir


def _print_startup(info: StartupInfo) -> None:
    print(f"LLM Dashboard is running on the {info.store} store.")
    print(f"GraphQL and GraphiQL: {info.graphql_url}")
    if info.bootstrap is not None:
        keys = info.bootstrap
        print()
        print(f"First start: created project '{keys.project_id}'. Save these keys now;")
        print("they are stored only as hashes and will not be shown again.")
        print(f"  admin key  (admin, read, ingest): {keys.admin.secret}")
        print(f"  ingest key (ingest only):         {keys.ingest.secret}")
        print()
        print(
            'In GraphiQL, open Headers and add {"Authorization": "Bearer <admin key>"}.'
        )
    sys.stdout.flush()


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def serve() -> int:
    """Check what commonly goes wrong first, then run the service until stopped."""
    settings = get_settings()
    if settings.uses_embedded_store:
        try:
            check_data_dir(settings.data_dir)
        except StoreStartError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if settings.port and not _port_is_free(settings.host, settings.port):
        print(
            f"error: port {settings.port} on {settings.host} is already in use; stop "
            "the other program or set LLMD_PORT to a free port",
            file=sys.stderr,
        )
        return 1
    uvicorn.run(
        create_app(settings, on_startup=_print_startup),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        ws_max_size=settings.max_ws_message_bytes,
    )
    return 0


def export_schema(output: Path | None) -> int:
    """Write the SDL that `schema.graphql` must match."""
    from app.schema import schema

    sdl = schema.as_str() + "\n"
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="llm-dashboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API (embedded store unless MONGODB_URI)")
    export = commands.add_parser("export-schema", help="print or write the GraphQL SDL")
    export.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "serve":
        sys.exit(serve())
    sys.exit(export_schema(args.output))


if __name__ == "__main__":
    main()
