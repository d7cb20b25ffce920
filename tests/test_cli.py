"""`python -m app projects|keys ...` run as a person would, in a shell."""

import json
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.factories import TestProject
from tests.service import run_cli, service_env, start_service

RECORD = {
    "query": 'mutation { logCall(input: {provider: "openai", model: "m"}) { id } }'
}
COUNT = {"query": "query { logs { totalCount } }"}


async def test_a_newcomer_creates_a_second_project_and_an_ingest_only_key(
    tmp_path: Path,
) -> None:
    env = service_env(tmp_path / "data")

    code, out, _ = await run_cli(
        "projects", "create", "--slug", "support-bot", "--name", "Support bot",
        "--json", env=env,
    )  # fmt: skip
    assert code == 0
    created = json.loads(out)
    admin_secret = created["secret"]
    assert created["project"] == "support-bot"

    code, out, _ = await run_cli(
        "keys", "create", "--project", "support-bot", "--scopes", "ingest",
        "--name", "sdk", env=env,
    )  # fmt: skip
    assert code == 0
    assert "shown only once" in out
    ingest_secret = next(
        word for word in out.split() if word.startswith("llmd_ingest_")
    )

    code, out, _ = await run_cli(
        "keys", "list", "--project", "support-bot", "--json", env=env
    )
    assert code == 0
    listed = json.loads(out)
    assert [(row["name"], row["scopes"]) for row in listed] == [
        ("admin", ["admin", "read", "ingest"]),
        ("sdk", ["ingest"]),
    ]
    assert ingest_secret not in out
    assert admin_secret not in out
    assert listed[1]["last_four"] == ingest_secret[-4:]

    # The keys work against the service started on the same data folder.
    service = await start_service(tmp_path / "data", environment="test")
    try:
        async with httpx.AsyncClient(base_url=service.url) as http:
            ingest = {"Authorization": f"Bearer {ingest_secret}"}
            recorded = await http.post("/graphql", json=RECORD, headers=ingest)
            refused = await http.post("/graphql", json=COUNT, headers=ingest)
            admin = {"Authorization": f"Bearer {admin_secret}"}
            counted = await http.post("/graphql", json=COUNT, headers=admin)
    finally:
        await service.stop()

    assert recorded.json()["data"]["logCall"]["id"]
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert counted.json()["data"] == {"logs": {"totalCount": 1}}


async def test_keys_commands_reach_the_store_of_a_running_service(
    tmp_path: Path,
) -> None:
    # No verification cache, so the revocation below shows on the next request.
    service = await start_service(
        tmp_path / "data", environment="test", key_cache_ttl_s="0"
    )
    env = service_env(tmp_path / "data")
    try:
        code, out, err = await run_cli(
            "keys", "create", "--project", "default", "--scopes", "read,ingest",
            "--json", env=env,
        )  # fmt: skip
        assert code == 0, err
        made = json.loads(out)
        assert made["scopes"] == ["read", "ingest"]
        headers = {"Authorization": f"Bearer {made['secret']}"}
        async with httpx.AsyncClient(base_url=service.url) as http:
            assert (await http.post("/graphql", json=COUNT, headers=headers)).json()[
                "data"
            ] == {"logs": {"totalCount": 0}}

            code, out, err = await run_cli(
                "keys", "revoke", "--project", "default", "--key-id", made["id"],
                env=env,
            )  # fmt: skip
            assert code == 0, err
            assert f"Revoked key {made['id']}" in out
            after = await http.post("/graphql", json=COUNT, headers=headers)
            assert after.status_code == 401
    finally:
        await service.stop()


async def test_cli_connects_to_mongodb_uri_and_reports_errors_with_exit_codes(
    tmp_path: Path, settings: Settings, project: TestProject
) -> None:
    assert settings.mongodb_uri is not None
    env = service_env(
        tmp_path / "unused",
        mongodb_uri=settings.mongodb_uri.get_secret_value(),
        database_name=settings.database_name,
    )

    code, out, _ = await run_cli("keys", "list", "--project", project.id, env=env)
    assert code == 0
    assert [line.split("\t")[1] for line in out.splitlines()] == [
        "admin",
        "reader",
        "ingest",
    ]

    code, _, err = await run_cli("keys", "list", "--project", "nope", env=env)
    assert code == 1
    assert "error: there is no project 'nope'" in err

    code, _, err = await run_cli(
        "keys", "create", "--project", project.id, "--scopes", "write", env=env
    )
    assert code == 2
    assert "ingest, read, admin" in err


@pytest.mark.parametrize("command", ["projects", "keys"])
async def test_cli_commands_explain_themselves(command: str, tmp_path: Path) -> None:
    code, out, _ = await run_cli(command, "--help", env=service_env(tmp_path))

    assert code == 0
    assert "create" in out
    assert "list" in out
