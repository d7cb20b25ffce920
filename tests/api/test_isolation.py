"""A key sees only its own project: other projects' data answers like missing data."""

import httpx
from starlette.applications import Starlette

from app.documents import Project
from app.services.keys import hash_secret, revoke_key
from tests.api.test_log_call import LOG_CALL, call
from tests.factories import TestProject, gql


async def test_another_projects_calls_and_sessions_are_invisible(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    stored = await gql(
        client,
        LOG_CALL,
        {"input": call(id="canary-a", sessionId="canary-s")},
        key=project.ingest,
    )
    assert stored.errors == []

    seen_by_b = await gql(
        client,
        """
        {
          logs { totalCount items { id } }
          log(id: "canary-a") { id }
          sessions { totalCount items { id } }
          session(id: "canary-s") { id }
        }
        """,
        key=other_project.reader,
    )

    assert seen_by_b.errors == []
    assert seen_by_b.data == {
        "logs": {"totalCount": 0, "items": []},
        "log": None,
        "sessions": {"totalCount": 0, "items": []},
        "session": None,
    }


async def test_the_same_call_id_in_two_projects_is_two_calls(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    for owner, model in ((project, "model-a"), (other_project, "model-b")):
        result = await gql(
            client,
            LOG_CALL,
            {"input": call(id="shared-id", model=model)},
            key=owner.ingest,
        )
        assert result.errors == []

    for owner, model in ((project, "model-a"), (other_project, "model-b")):
        read = await gql(client, '{ log(id: "shared-id") { model } }', key=owner.reader)
        assert read.data == {"log": {"model": model}}


async def test_a_revoked_key_is_refused(
    app: Starlette, client: httpx.AsyncClient, project: TestProject
) -> None:
    before = await gql(client, "{ logs { totalCount } }", key=project.reader)
    assert before.status_code == 200
    key_id = await reader_key_id(project)

    assert await revoke_key(project.id, key_id, app.state.verifier)
    after = await gql(client, "{ logs { totalCount } }", key=project.reader)

    assert after.status_code == 401
    assert after.error_codes() == ["UNAUTHENTICATED"]


async def test_a_request_with_an_unknown_key_is_refused(
    client: httpx.AsyncClient,
) -> None:
    result = await gql(client, "{ logs { totalCount } }", key="llmd_read_not-a-key")

    assert result.status_code == 401
    assert "unknown or revoked API key" in result.errors[0]["message"]


async def reader_key_id(project: TestProject) -> str:
    stored = await Project.get(project.id)
    assert stored is not None
    return next(
        key.key_id
        for key in stored.api_keys
        if key.key_hash == hash_secret(project.reader)
    )
