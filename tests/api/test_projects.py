"""Projects and keys through GraphQL: who may do what, and what it changes."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.documents import DailyUsageRollup, Log, Project, Session, UsageRollup
from tests.factories import ADMIN_TOKEN, TestProject, gql

CREATE_PROJECT = """
mutation Create($input: CreateProjectInput!) {
  createProject(input: $input) {
    project { id name settings { sessionTimeoutMinutes storeText maxTextChars } }
    adminKey { secret apiKey { id scopes } }
  }
}
"""
CREATE_KEY = """
mutation Key($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix lastFour scopes revokedAt } }
}
"""
API_KEYS = """
query Keys($project: ID) {
  apiKeys(project: $project) { id name prefix lastFour scopes createdAt lastUsedAt revokedAt }
}
"""
REVOKE = """
mutation Revoke($keyId: ID!, $project: ID) {
  revokeApiKey(keyId: $keyId, project: $project) { id revokedAt }
}
"""
RENAME = """
mutation Rename($name: String!, $project: ID) {
  renameProject(name: $name, project: $project) { id name }
}
"""
SETTINGS = """
mutation Settings($input: ProjectSettingsInput!, $project: ID) {
  updateProjectSettings(input: $input, project: $project) {
    settings { sessionTimeoutMinutes storeText maxTextChars }
  }
}
"""
DELETE = """
mutation Delete($project: ID!) {
  deleteProject(project: $project) { id deleted { collection count } }
}
"""
LOG_CALL = """
mutation Record($input: LogCallInput!) { logCall(input: $input) { id prompt } }
"""
COUNT = "query Count { logs { totalCount } }"


def new_slug() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


async def create_project(client: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    result = await gql(
        client,
        CREATE_PROJECT,
        {"input": {"slug": slug, "name": f"Project {slug}"}},
        key=ADMIN_TOKEN,
    )
    assert result.errors == []
    assert result.data is not None
    created: dict[str, Any] = result.data["createProject"]
    return created


async def test_server_admin_creates_a_project_whose_admin_key_makes_an_ingest_only_key(
    client: httpx.AsyncClient,
) -> None:
    slug = new_slug()
    created = await create_project(client, slug)
    admin_key = created["adminKey"]["secret"]
    assert created["project"]["id"] == slug
    assert created["project"]["settings"] == {
        "sessionTimeoutMinutes": 30,
        "storeText": True,
        "maxTextChars": 32_000,
    }
    assert created["adminKey"]["apiKey"]["scopes"] == ["ADMIN", "READ", "INGEST"]

    made = await gql(
        client,
        CREATE_KEY,
        {"input": {"name": "sdk", "scopes": ["INGEST"]}},
        key=admin_key,
    )
    assert made.errors == []
    assert made.data is not None
    ingest_key = made.data["createApiKey"]["secret"]
    shown = made.data["createApiKey"]["apiKey"]
    assert ingest_key.startswith(shown["prefix"])
    assert ingest_key.endswith(shown["lastFour"])
    assert shown["scopes"] == ["INGEST"]

    recorded = await gql(
        client,
        LOG_CALL,
        {"input": {"provider": "openai", "model": "gpt-4o"}},
        key=ingest_key,
    )
    assert recorded.errors == []
    refused = await gql(client, COUNT, key=ingest_key)
    assert refused.error_codes() == ["FORBIDDEN"]
    counted = await gql(client, COUNT, key=admin_key)
    assert counted.data == {"logs": {"totalCount": 1}}


async def test_api_keys_show_prefix_and_last_four_but_never_the_secret_or_hash(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    stored = await Project.get(project.id)
    assert stored is not None

    listed = await gql(client, API_KEYS, key=project.admin)

    assert listed.data is not None
    keys = listed.data["apiKeys"]
    assert [key["name"] for key in keys] == ["admin", "reader", "ingest"]
    text = str(listed.data)
    for secret in (project.admin, project.reader, project.ingest):
        assert secret not in text
        assert secret[-4:] in text
    for api_key in stored.api_keys:
        assert api_key.key_hash not in text


async def test_only_the_server_admin_token_creates_projects(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    variables = {"input": {"slug": new_slug(), "name": "x"}}

    by_project_admin = await gql(client, CREATE_PROJECT, variables, key=project.admin)
    duplicate = await gql(
        client,
        CREATE_PROJECT,
        {"input": {"slug": project.id, "name": "again"}},
        key=ADMIN_TOKEN,
    )
    bad_slug = await gql(
        client,
        CREATE_PROJECT,
        {"input": {"slug": "Has Spaces", "name": "x"}},
        key=ADMIN_TOKEN,
    )

    assert by_project_admin.error_codes() == ["FORBIDDEN"]
    assert duplicate.error_codes() == ["CONFLICT"]
    assert bad_slug.error_codes() == ["INVALID_INPUT"]
    assert bad_slug.errors[0]["extensions"]["field"] == "slug"


async def test_the_server_admin_token_cannot_read_or_write_project_data(
    client: httpx.AsyncClient,
) -> None:
    read = await gql(client, COUNT, key=ADMIN_TOKEN)
    write = await gql(
        client, LOG_CALL, {"input": {"provider": "a", "model": "b"}}, key=ADMIN_TOKEN
    )

    assert read.error_codes() == ["FORBIDDEN"]
    assert write.error_codes() == ["FORBIDDEN"]


async def test_an_admin_key_acts_on_its_own_project_and_others_look_missing(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    own = await gql(client, RENAME, {"name": "Renamed"}, key=project.admin)
    other = await gql(
        client,
        RENAME,
        {"name": "Hijack", "project": other_project.id},
        key=project.admin,
    )
    missing = await gql(
        client,
        RENAME,
        {"name": "Hijack", "project": "no-such-project"},
        key=project.admin,
    )

    assert own.data == {"renameProject": {"id": project.id, "name": "Renamed"}}
    assert other.data is None
    assert other.error_codes() == missing.error_codes() == ["NOT_FOUND"]
    assert other.errors[0]["message"].replace(other_project.id, "X") == missing.errors[
        0
    ]["message"].replace("no-such-project", "X")
    untouched = await Project.get(other_project.id)
    assert untouched is not None
    assert untouched.name == other_project.id


async def test_read_and_ingest_keys_cannot_manage_the_project(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    for key in (project.reader, project.ingest):
        listed = await gql(client, API_KEYS, key=key)
        made = await gql(
            client, CREATE_KEY, {"input": {"name": "x", "scopes": ["ADMIN"]}}, key=key
        )
        assert listed.error_codes() == ["FORBIDDEN"]
        assert made.error_codes() == ["FORBIDDEN"]
    stored = await Project.get(project.id)
    assert stored is not None
    assert len(stored.api_keys) == 3


async def test_a_revoked_key_is_refused_at_once_and_revoking_again_changes_nothing(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    listed = await gql(client, API_KEYS, key=project.admin)
    assert listed.data is not None
    reader_id = next(k["id"] for k in listed.data["apiKeys"] if k["name"] == "reader")
    assert (await gql(client, COUNT, key=project.reader)).errors == []

    first = await gql(client, REVOKE, {"keyId": reader_id}, key=project.admin)
    second = await gql(client, REVOKE, {"keyId": reader_id}, key=project.admin)
    after = await gql(client, COUNT, key=project.reader)

    assert first.data is not None
    assert second.data == first.data
    assert first.data["revokeApiKey"]["revokedAt"] is not None
    assert after.status_code == 401
    assert after.error_codes() == ["UNAUTHENTICATED"]


async def test_the_last_active_admin_key_is_kept_unless_the_server_admin_revokes_it(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    listed = await gql(client, API_KEYS, key=project.admin)
    assert listed.data is not None
    admin_id = next(k["id"] for k in listed.data["apiKeys"] if k["name"] == "admin")

    refused = await gql(client, REVOKE, {"keyId": admin_id}, key=project.admin)
    assert refused.error_codes() == ["CONFLICT"]
    assert (await gql(client, COUNT, key=project.admin)).errors == []

    by_server = await gql(
        client, REVOKE, {"keyId": admin_id, "project": project.id}, key=ADMIN_TOKEN
    )
    assert by_server.errors == []
    assert (await gql(client, COUNT, key=project.admin)).status_code == 401


async def test_unknown_key_ids_and_bad_key_input_answer_with_codes(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    unknown = await gql(client, REVOKE, {"keyId": "nope"}, key=project.admin)
    no_scopes = await gql(
        client, CREATE_KEY, {"input": {"name": "x", "scopes": []}}, key=project.admin
    )
    long_name = await gql(
        client,
        CREATE_KEY,
        {"input": {"name": "n" * 101, "scopes": ["READ"]}},
        key=project.admin,
    )
    admin_without_project = await gql(client, API_KEYS, key=ADMIN_TOKEN)

    assert unknown.error_codes() == ["NOT_FOUND"]
    assert no_scopes.error_codes() == ["INVALID_INPUT"]
    assert long_name.error_codes() == ["INVALID_INPUT"]
    assert admin_without_project.error_codes() == ["INVALID_INPUT"]
    assert admin_without_project.errors[0]["extensions"]["field"] == "project"


async def test_project_settings_are_validated_and_take_effect_on_ingest(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    too_short = await gql(
        client, SETTINGS, {"input": {"sessionTimeoutMinutes": 0}}, key=project.admin
    )
    too_big = await gql(
        client, SETTINGS, {"input": {"maxTextChars": 10**9}}, key=project.admin
    )
    changed = await gql(
        client,
        SETTINGS,
        {"input": {"storeText": False, "sessionTimeoutMinutes": 90}},
        key=project.admin,
    )
    recorded = await gql(
        client,
        LOG_CALL,
        {"input": {"provider": "openai", "model": "m", "prompt": "secret words"}},
        key=project.ingest,
    )

    assert too_short.errors[0]["extensions"] == {
        "code": "INVALID_INPUT",
        "field": "sessionTimeoutMinutes",
    }
    assert too_big.errors[0]["extensions"] == {
        "code": "INVALID_INPUT",
        "field": "maxTextChars",
    }
    assert changed.data == {
        "updateProjectSettings": {
            "settings": {
                "sessionTimeoutMinutes": 90,
                "storeText": False,
                "maxTextChars": 32_000,
            }
        }
    }
    assert recorded.data is not None
    assert recorded.data["logCall"]["prompt"] is None


async def test_deleting_a_project_removes_its_data_and_stops_its_keys(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    for key in (project.ingest, other_project.ingest):
        await gql(
            client,
            LOG_CALL,
            {"input": {"provider": "p", "model": "m", "sessionId": "s1"}},
            key=key,
        )

    deleted = await gql(client, DELETE, {"project": project.id}, key=project.admin)

    assert deleted.data is not None
    counts = {
        row["collection"]: row["count"]
        for row in deleted.data["deleteProject"]["deleted"]
    }
    assert counts["llm_logs"] == 1
    assert counts["llm_sessions"] == 1
    assert (await gql(client, COUNT, key=project.admin)).status_code == 401
    assert await Project.get(project.id) is None
    assert await Log.find({"project_id": project.id}).count() == 0
    assert await Session.find({"project_id": project.id}).count() == 0
    for rollup in (UsageRollup, DailyUsageRollup):
        assert await rollup.find({"project_id": project.id}).count() == 0
        assert await rollup.find({"project_id": other_project.id}).count() == 1
    kept = await gql(client, COUNT, key=other_project.reader)
    assert kept.data == {"logs": {"totalCount": 1}}


async def test_a_deletion_cut_short_is_finished_by_deleting_again(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await gql(
        client, LOG_CALL, {"input": {"provider": "p", "model": "m"}}, key=project.ingest
    )
    # What an outage after the first step leaves behind: marked, data still there.
    await Project.get_pymongo_collection().update_one(
        {"_id": project.id}, {"$set": {"deleting_since": datetime.now(UTC)}}
    )
    assert (await gql(client, COUNT, key=project.reader)).status_code == 401
    recreate = await gql(
        client,
        CREATE_PROJECT,
        {"input": {"slug": project.id, "name": "again"}},
        key=ADMIN_TOKEN,
    )
    assert recreate.error_codes() == ["CONFLICT"]

    finished = await gql(client, DELETE, {"project": project.id}, key=ADMIN_TOKEN)

    assert finished.errors == []
    assert await Log.find({"project_id": project.id}).count() == 0
    assert await Project.get(project.id) is None


def test_every_per_project_collection_carries_the_project_id() -> None:
    # deleteProject removes documents by project_id in every collection but
    # projects; a collection without the field would survive its project.
    from app.documents import ALL_DOCUMENTS

    for document in ALL_DOCUMENTS:
        if document is not Project:
            assert "project_id" in document.model_fields, document.__name__


async def test_last_used_at_is_written_at_most_every_few_minutes(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    async def reader_last_used() -> datetime | None:
        stored = await Project.get(project.id)
        assert stored is not None
        return next(k for k in stored.api_keys if k.name == "reader").last_used_at

    assert await reader_last_used() is None
    await gql(client, COUNT, key=project.reader)
    first = await reader_last_used()
    await gql(client, COUNT, key=project.reader)
    assert first is not None
    assert await reader_last_used() == first

    # Ten minutes later (moved back in the store), the next use is recorded.
    earlier = first - timedelta(minutes=10)
    await Project.get_pymongo_collection().update_one(
        {"_id": project.id, "api_keys.name": "reader"},
        {"$set": {"api_keys.$.last_used_at": earlier}},
    )
    await gql(client, COUNT, key=project.reader)
    latest = await reader_last_used()
    assert latest is not None
    assert latest > first


async def test_key_secrets_never_reach_the_logs(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await create_project(client, new_slug())
    admin_key = created["adminKey"]["secret"]
    made = await gql(
        client,
        CREATE_KEY,
        {"input": {"name": "sdk", "scopes": ["INGEST"]}},
        key=admin_key,
    )
    assert made.data is not None
    await gql(client, COUNT, key=admin_key)
    await gql(client, COUNT, key="llmd_read_not-a-real-key")

    assert "key.created" in caplog.text
    for secret in (admin_key, made.data["createApiKey"]["secret"], ADMIN_TOKEN):
        assert secret not in caplog.text
    assert "llmd_read_not-a-real-key" not in caplog.text
