"""The origin's `/api/logs` routes, driven with exactly what its JavaScript SDK sends."""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.documents import Log, log_key
from tests.factories import TestProject


def sdk_log(key: str, **overrides: Any) -> dict[str, Any]:
    """The body the origin SDK posts after a call: its projectId setting is the key."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "projectId": key,
        "environment": "production",
        "sessionId": None,
        "userId": "user-7",
        "provider": "openai",
        "model": "gpt-4o",
        "prompt": "What is the capital of France?",
        "response": "Paris.",
        "promptTokens": 14,
        "completionTokens": 3,
        "totalTokens": 17,
        "duration": 812,
        "status": "success",
        "statusCode": 200,
        "error": None,
        "cost": 0.000065,
        "metadata": {"feature": "faq"},
        "streaming": False,
        "apiKeyMask": "...9xK2q",
    }
    return body | overrides


def sdk_headers(key: str) -> dict[str, str]:
    """The only headers the origin SDK sets."""
    return {"Content-Type": "application/json", "X-Project-ID": key}


async def post_log(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post("/api/logs", content=json.dumps(body), headers=headers)


async def stored(project: TestProject, call_id: str) -> Log:
    found = await Log.get(log_key(project.id, call_id))
    assert found is not None
    return found


async def test_a_log_posted_by_the_origin_sdk_is_stored_and_answered_201(
    client: httpx.AsyncClient,
    project: TestProject,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = sdk_log(project.ingest, sessionId="chat-1")

    with caplog.at_level(logging.DEBUG):
        response = await post_log(client, body, sdk_headers(project.ingest))

    assert response.status_code == 201
    assert response.json() == {"success": True, "id": body["id"]}
    log = await stored(project, body["id"])
    assert (log.provider, log.model, log.environment) == (
        "openai",
        "gpt-4o",
        "production",
    )
    assert (log.prompt_tokens, log.completion_tokens, log.total_tokens) == (14, 3, 17)
    assert log.duration_ms == 812
    assert log.status == "success"
    assert log.status_code == 200
    assert (log.cost_usd, log.cost_source) == (0.000065, "reported")
    assert (log.user_id, log.session_id) == ("user-7", "chat-1")
    assert log.metadata == {"feature": "faq"}
    # Neither the key (sent as projectId) nor its mask is kept or logged.
    raw = json.dumps(
        await Log.get_pymongo_collection().find_one({"_id": log.id}), default=str
    )
    assert project.ingest not in raw
    assert "9xK2q" not in raw
    assert project.ingest not in caplog.text


async def test_a_failed_call_with_an_error_object_is_an_error(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    body = sdk_log(
        project.ingest,
        status="failed",
        statusCode=429,
        response=None,
        completionTokens=0,
        totalTokens=14,
        cost=None,
        error={
            "message": "Rate limit reached",
            "type": "rate_limit_error",
            "code": 429,
        },
    )

    response = await post_log(client, body, sdk_headers(project.ingest))

    assert response.status_code == 201
    log = await stored(project, body["id"])
    assert log.status == "error"
    assert log.error is not None
    assert (log.error.type, log.error.message) == (
        "rate_limit_error",
        "Rate limit reached",
    )


async def test_a_call_without_a_cost_is_priced_on_the_server(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    body = sdk_log(project.ingest, cost=None)

    await post_log(client, body, sdk_headers(project.ingest))

    log = await stored(project, body["id"])
    assert log.cost_source == "price_table"
    assert log.cost_usd is not None
    assert log.cost_usd > 0
    assert log.price_version is not None


async def test_nested_metadata_and_message_lists_are_kept_as_json_text(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    messages = [{"role": "user", "content": "Hi"}]
    body = sdk_log(
        project.ingest,
        prompt=messages,
        metadata={"ab": {"variant": "b"}, "empty": None, "n": 2},
    )

    response = await post_log(client, body, sdk_headers(project.ingest))

    assert response.status_code == 201
    log = await stored(project, body["id"])
    assert log.prompt is not None
    assert json.loads(log.prompt) == messages
    assert log.metadata == {"ab": '{"variant": "b"}', "n": 2}


async def test_the_same_log_posted_twice_is_stored_once(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    body = sdk_log(project.ingest)

    first = await post_log(client, body, sdk_headers(project.ingest))
    second = await post_log(client, body, sdk_headers(project.ingest))

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == {"success": True, "id": body["id"], "duplicate": True}
    assert await Log.find({"project_id": project.id}).count() == 1


async def test_a_bearer_key_works_as_well(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    body = sdk_log("my-app")
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {project.ingest}",
    }

    response = await post_log(client, body, headers)

    assert response.status_code == 201


async def test_a_plain_project_name_is_refused_with_a_message_saying_what_to_send(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await post_log(client, sdk_log("my-app"), sdk_headers("my-app"))

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "UNAUTHENTICATED"
    assert "put an ingest key" in body["error"]["message"]
    assert "X-Project-ID" in body["error"]["message"]
    assert "Authorization: Bearer" in body["error"]["message"]
    assert "my-app" not in body["error"]["message"]


async def test_no_credential_at_all_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/logs", json=sdk_log("x"))

    assert response.status_code == 401
    assert "X-Project-ID" in response.json()["error"]["message"]


async def test_an_unknown_key_in_x_project_id_is_refused(
    client: httpx.AsyncClient,
) -> None:
    key = "llmd_ingest_" + "z" * 40

    response = await post_log(client, sdk_log(key), sdk_headers(key))

    assert response.status_code == 401
    assert "unknown or revoked" in response.json()["error"]["message"]


async def test_x_project_id_is_not_a_credential_outside_the_origin_routes(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await client.post(
        "/v1/logs",
        json={"logs": [{"provider": "openai", "model": "gpt-4o"}]},
        headers={"X-Project-ID": project.ingest},
    )

    assert response.status_code == 401


async def test_a_read_key_cannot_post_logs(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await post_log(
        client, sdk_log(project.reader), sdk_headers(project.reader)
    )

    assert response.status_code == 403
    assert response.json()["success"] is False


@pytest.mark.parametrize(
    ("overrides", "field", "hint"),
    [
        pytest.param(
            {"promptTokens": "lots"}, "promptTokens", "valid integer", id="type"
        ),
        pytest.param(
            {"status": "maybe"}, "status", "'success' or 'error'", id="status"
        ),
        pytest.param({"model": ""}, "model", "required", id="model"),
        pytest.param(
            {"duration": -3}, "duration", "duration must be zero", id="duration"
        ),
        pytest.param({"cost": -1}, "cost", "cost must be zero", id="cost"),
    ],
)
async def test_an_invalid_log_is_refused_with_400_naming_the_field(
    client: httpx.AsyncClient,
    project: TestProject,
    overrides: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    response = await post_log(
        client, sdk_log(project.ingest, **overrides), sdk_headers(project.ingest)
    )

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert (body["error"]["code"], body["error"]["field"]) == ("INVALID_INPUT", field)
    assert hint in body["error"]["message"]
    assert await Log.find({"project_id": project.id}).count() == 0


async def seed(client: httpx.AsyncClient, project: TestProject) -> list[dict[str, Any]]:
    """Five logs an hour apart, newest last: mixed providers, models and statuses."""
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    rows = [
        ("openai", "gpt-4o", "success"),
        ("openai", "gpt-4o-mini", "failed"),
        ("anthropic", "claude-3-5-haiku-20241022", "success"),
        ("openai", "gpt-4o", "error"),
        ("openai", "gpt-4o", "success"),
    ]
    bodies = []
    for hour, (provider, model, status) in enumerate(rows):
        body = sdk_log(
            project.ingest,
            id=f"log-{hour}",
            provider=provider,
            model=model,
            status=status,
            timestamp=(start + timedelta(hours=hour)).isoformat(),
        )
        response = await post_log(client, body, sdk_headers(project.ingest))
        assert response.status_code == 201
        bodies.append(body)
    return bodies


async def list_ids(
    client: httpx.AsyncClient, key: str, **params: Any
) -> tuple[list[str], dict[str, Any]]:
    response = await client.get(
        "/api/logs", params=params, headers={"X-Project-ID": key}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return [log["id"] for log in body["logs"]], body


async def test_listing_filters_pages_and_counts_like_the_origin(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    await seed(client, project)
    await seed(client, other_project)

    everything, body = await list_ids(client, project.reader)
    assert everything == ["log-4", "log-3", "log-2", "log-1", "log-0"]
    assert (body["total"], body["limit"], body["skip"]) == (5, 100, 0)

    page, body = await list_ids(client, project.reader, limit=2, skip=1)
    assert page == ["log-3", "log-2"]
    assert (body["total"], body["limit"], body["skip"]) == (5, 2, 1)

    by_model, _ = await list_ids(
        client, project.reader, provider="OpenAI", model="gpt-4o"
    )
    assert by_model == ["log-4", "log-3", "log-0"]
    failed, _ = await list_ids(client, project.reader, status="failed")
    assert failed == ["log-3", "log-1"]
    window, _ = await list_ids(
        client,
        project.reader,
        startDate="2026-10-01T09:00:00.000Z",
        endDate="2026-10-01T11:00:00.000Z",
        projectId=other_project.id,
    )
    assert window == ["log-3", "log-2", "log-1"]


async def test_a_listed_log_has_the_origin_shape(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    bodies = await seed(client, project)

    _, listing = await list_ids(client, project.reader, limit=1)
    one = await client.get("/api/logs/log-4", headers={"X-Project-ID": project.reader})

    assert one.status_code == 200
    log = one.json()
    assert log == listing["logs"][0]
    sent = bodies[4]
    for field in (
        "id",
        "environment",
        "userId",
        "provider",
        "model",
        "prompt",
        "response",
        "promptTokens",
        "completionTokens",
        "totalTokens",
        "duration",
        "status",
        "statusCode",
        "cost",
        "metadata",
        "streaming",
    ):
        assert log[field] == sent[field], field
    assert log["timestamp"] == "2026-10-01T12:00:00.000Z"
    assert log["projectId"] == project.id
    assert (log["error"], log["costSource"]) == (None, "reported")
    assert "apiKeyMask" not in log


async def test_a_missing_or_foreign_log_answers_404_alike(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    await seed(client, other_project)
    headers = {"X-Project-ID": project.reader}

    foreign = await client.get("/api/logs/log-0", headers=headers)
    missing = await client.get("/api/logs/no-such-log", headers=headers)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"limit": "ten"}, "limit", id="limit not a number"),
        pytest.param({"limit": "0"}, "limit", id="limit zero"),
        pytest.param({"skip": "-1"}, "skip", id="negative skip"),
        pytest.param({"skip": "10001"}, "skip", id="skip too deep"),
        pytest.param({"startDate": "yesterday"}, "startDate", id="bad date"),
        pytest.param({"status": "unknown"}, "status", id="bad status"),
    ],
)
async def test_bad_list_parameters_answer_400(
    client: httpx.AsyncClient,
    project: TestProject,
    params: dict[str, str],
    field: str,
) -> None:
    response = await client.get(
        "/api/logs", params=params, headers={"X-Project-ID": project.reader}
    )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


async def test_a_large_limit_is_capped_at_the_page_size(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    _, body = await list_ids(client, project.reader, limit=5000)

    assert body["limit"] == 100


async def test_an_ingest_key_cannot_list_logs(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await client.get("/api/logs", headers={"X-Project-ID": project.ingest})

    assert response.status_code == 403
