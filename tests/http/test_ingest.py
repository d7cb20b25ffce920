"""`POST /v1/logs`: per-item results, whole-request failures and every limit."""

import gzip
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect

from app.documents import (
    Log,
    PendingTotals,
    Project,
    Session,
    log_key,
    session_key,
)
from app.services import lookups
from tests.factories import TestProject, gql, reopen_batches, uncounted_call_ids


def sdk_call(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "promptTokens": 100,
        "completionTokens": 20,
        "durationMs": 310.5,
    }
    return base | overrides


async def post_logs(
    client: httpx.AsyncClient,
    logs: list[Any],
    *,
    key: str | None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    return await client.post("/v1/logs", json={"logs": logs}, headers=sent)


def outcomes(response: httpx.Response) -> list[tuple[Any, ...]]:
    return [
        (
            item["index"],
            item["id"],
            item["status"],
            item.get("error", {}).get("code"),
            item.get("error", {}).get("field"),
        )
        for item in response.json()["results"]
    ]


async def stored_log(project: TestProject, call_id: str) -> Log:
    found = await Log.get(log_key(project.id, call_id))
    assert found is not None
    return found


async def test_a_clean_batch_is_stored_priced_and_answered_200(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await post_logs(
        client,
        [
            sdk_call(id="camel", cachedPromptTokens=40),
            {
                "id": "snake",
                "provider": "anthropic",
                "model": "claude-3-5-haiku-20241022",
                "prompt_tokens": 300,
                "completion_tokens": 50,
                "session_id": "conv-1",
                "timestamp": "2026-11-01T10:00:00Z",
            },
        ],
        key=project.ingest,
    )

    assert response.status_code == 200
    assert response.json()["stored"] == 2
    assert outcomes(response) == [
        (0, "camel", "stored", None, None),
        (1, "snake", "stored", None, None),
    ]
    camel = await stored_log(project, "camel")
    assert camel.cached_prompt_tokens == 40
    assert camel.duration_ms == 310.5
    snake = await stored_log(project, "snake")
    assert (snake.prompt_tokens, snake.total_tokens, snake.session_id) == (
        300,
        350,
        "conv-1",
    )
    for stored in (camel, snake):
        assert stored.cost_source == "price_table"
        assert stored.cost_usd is not None
        assert stored.cost_usd > 0
        assert stored.price_version is not None
    assert await uncounted_call_ids(project) == set()
    # One marker per batch, deleted once the batch is counted.
    assert await PendingTotals.find({"project_id": project.id}).count() == 0


async def test_a_mixed_batch_answers_207_with_an_outcome_per_item(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await post_logs(client, [sdk_call(id="before")], key=project.ingest)

    response = await post_logs(
        client,
        [
            sdk_call(id="ok"),
            sdk_call(id="typed", promptTokens="many"),
            sdk_call(id="ledger", reasoningTokens=50),
            "not an object",
            sdk_call(id="ok"),
            sdk_call(id="before"),
            sdk_call(id="nested", metadata={"plan": {"tier": "pro"}}),
        ],
        key=project.ingest,
    )

    assert response.status_code == 207
    body = response.json()
    assert (body["stored"], body["duplicates"], body["rejected"]) == (1, 2, 4)
    assert outcomes(response) == [
        (0, "ok", "stored", None, None),
        (1, "typed", "rejected", "INVALID_INPUT", "promptTokens"),
        (2, "ledger", "rejected", "INVALID_INPUT", "reasoningTokens"),
        (3, None, "rejected", "INVALID_INPUT", None),
        (4, "ok", "duplicate", None, None),
        (5, "before", "duplicate", None, None),
        (6, "nested", "rejected", "INVALID_INPUT", "metadata"),
    ]
    messages = [item.get("error", {}).get("message") for item in body["results"]]
    assert "valid integer" in messages[1]
    assert "reasoningTokens (50) exceed completionTokens (20)" in messages[2]
    assert "JSON object" in messages[3]
    assert "flat object" in messages[6]
    assert await Log.find({"project_id": project.id}).count() == 2


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        pytest.param(b"{not json", "not valid JSON", id="not json"),
        pytest.param(b"[1, 2]", '{"logs": [...]}', id="array body"),
        pytest.param(b'{"calls": []}', '{"logs": [...]}', id="no logs key"),
        pytest.param(b'{"logs": {"id": 1}}', '{"logs": [...]}', id="logs not a list"),
    ],
)
async def test_an_unreadable_body_is_refused_as_a_whole_with_400(
    client: httpx.AsyncClient, project: TestProject, body: bytes, hint: str
) -> None:
    response = await client.post(
        "/v1/logs",
        content=body,
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert hint in error["message"]


async def test_keys_are_checked_before_the_body(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    missing = await post_logs(client, [sdk_call()], key=None)
    unknown = await post_logs(client, [sdk_call()], key="llmd_ingest_not-a-real-key")
    read_only = await post_logs(client, [sdk_call()], key=project.reader)

    assert (missing.status_code, missing.json()["error"]["code"]) == (
        401,
        "UNAUTHENTICATED",
    )
    assert unknown.status_code == 401
    assert (read_only.status_code, read_only.json()["error"]["code"]) == (
        403,
        "FORBIDDEN",
    )
    assert await Log.find({"project_id": project.id}).count() == 0


async def test_a_body_over_the_size_limit_is_refused_with_a_json_413(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    padding = "x" * (4 * 1024 * 1024)
    response = await post_logs(client, [sdk_call(prompt=padding)], key=project.ingest)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert "4194304-byte limit" in error["message"]


@pytest.mark.parametrize(
    ("path", "success_flag"),
    [("/graphql", False), ("/v1/traces", False), ("/api/logs", True)],
)
async def test_every_route_refuses_an_oversized_body_with_the_json_shape(
    client: httpx.AsyncClient, project: TestProject, path: str, success_flag: bool
) -> None:
    response = await client.post(
        path,
        content=b"{" + b" " * (4 * 1024 * 1024) + b"}",
        headers={"Authorization": f"Bearer {project.ingest}"},
    )

    assert response.status_code == 413
    body = response.json()
    # /graphql answers in the GraphQL shape, plain routes in the JSON error shape.
    error = body["errors"][0]["extensions"] if path == "/graphql" else body["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert ("success" in body) is success_flag


async def test_a_streamed_body_over_the_limit_is_refused_with_a_json_413(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    chunk = b" " * (1024 * 1024)

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"logs": ['
        for _ in range(5):
            yield chunk
        yield b"]}"

    response = await client.post(
        "/v1/logs",
        content=stream(),
        headers={"Authorization": f"Bearer {project.ingest}"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_batch_over_the_item_limit_is_refused_with_413(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await post_logs(
        client, [{"provider": "p", "model": "m"}] * 1001, key=project.ingest
    )

    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("PAYLOAD_TOO_LARGE", "logs")
    assert "1001 calls" in error["message"]
    assert await Log.find({"project_id": project.id}).count() == 0


async def test_a_gzip_body_is_unpacked(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    body = gzip.compress(json.dumps({"logs": [sdk_call(id="zipped")]}).encode())

    response = await client.post(
        "/v1/logs",
        content=body,
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )

    assert response.status_code == 200
    assert outcomes(response) == [(0, "zipped", "stored", None, None)]


@pytest.mark.parametrize(
    ("body", "encoding", "status_code", "hint"),
    [
        pytest.param(
            gzip.compress(b" " * (17 * 1024 * 1024)),
            "gzip",
            413,
            "unpacks to more than",
            id="gzip bomb",
        ),
        pytest.param(b"not gzip at all", "gzip", 400, "not valid gzip", id="bad gzip"),
        pytest.param(
            gzip.compress(b'{"logs": []}')[:-6],
            "gzip",
            400,
            "truncated",
            id="truncated gzip",
        ),
        pytest.param(b'{"logs": []}', "br", 400, "'br' is not supported", id="brotli"),
    ],
)
async def test_bad_or_oversized_encodings_are_refused(
    client: httpx.AsyncClient,
    project: TestProject,
    body: bytes,
    encoding: str,
    status_code: int,
    hint: str,
) -> None:
    response = await client.post(
        "/v1/logs",
        content=body,
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Encoding": encoding,
        },
    )

    assert response.status_code == status_code
    assert hint in response.json()["error"]["message"]


LIMITED_CALLS = [
    pytest.param(
        sdk_call(provider="p" * 257), "provider", "limit is 256", id="long string"
    ),
    pytest.param(
        sdk_call(metadata={f"k{index}": index for index in range(65)}),
        "metadata",
        "65 metadata keys sent; the limit is 64",
        id="too many metadata keys",
    ),
    pytest.param(
        sdk_call(metadata={"k" * 65: 1}),
        "metadata",
        "use 1 to 64 characters",
        id="long metadata key",
    ),
    pytest.param(
        sdk_call(metadata={"note": "v" * 1025}),
        "metadata",
        "the limit is 1024",
        id="long metadata value",
    ),
    pytest.param(
        sdk_call(timestamp=(datetime.now(UTC) + timedelta(minutes=10)).isoformat()),
        "timestamp",
        "more than 300 s in the future",
        id="future timestamp",
    ),
    pytest.param(
        sdk_call(tags=[f"t{index}" for index in range(33)]),
        "tags",
        "33 tags sent; the limit is 32",
        id="too many tags",
    ),
]


@pytest.mark.parametrize(("item", "field", "hint"), LIMITED_CALLS)
async def test_an_item_over_a_limit_is_rejected_alone_with_a_clear_message(
    client: httpx.AsyncClient,
    project: TestProject,
    item: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    response = await post_logs(
        client, [item | {"id": "over"}, sdk_call(id="fine")], key=project.ingest
    )

    assert response.status_code == 207
    rejected, fine = response.json()["results"]
    assert (rejected["status"], rejected["error"]["field"]) == ("rejected", field)
    assert hint in rejected["error"]["message"]
    assert fine["status"] == "stored"


async def test_long_prompt_and_response_are_capped_and_marked_truncated(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await post_logs(
        client,
        [sdk_call(id="long", prompt="p" * 40_000, response="short answer")],
        key=project.ingest,
    )

    assert response.status_code == 200
    stored = await stored_log(project, "long")
    assert stored.prompt == "p" * 32_000
    assert stored.prompt_truncated
    assert stored.response == "short answer"
    assert not stored.response_truncated


async def test_a_project_that_stores_no_text_keeps_counts_but_no_text(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await Project.get_pymongo_collection().update_one(
        {"_id": project.id}, {"$set": {"settings.store_text": False}}
    )

    response = await post_logs(
        client,
        [sdk_call(id="private", prompt="my secret plan", response="noted")],
        key=project.ingest,
    )

    assert response.status_code == 200
    stored = await stored_log(project, "private")
    assert (stored.prompt, stored.response) == (None, None)
    assert stored.prompt_tokens == 100
    raw = await Log.get_pymongo_collection().find_one({"_id": stored.id})
    assert "my secret plan" not in json.dumps(raw, default=str)


async def test_a_store_failure_answers_503_and_acknowledges_nothing(
    client: httpx.AsyncClient,
    project: TestProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail(*args: object, **kwargs: object) -> None:
        raise AutoReconnect("connection reset")

    monkeypatch.setattr(AsyncCollection, "insert_many", fail)
    response = await post_logs(client, [sdk_call(id="lost?")], key=project.ingest)
    monkeypatch.undo()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "UNAVAILABLE"
    assert "results" not in response.json()


async def test_calls_sent_here_are_readable_through_graphql(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await post_logs(client, [sdk_call(id="shared")], key=project.ingest)

    found = await gql(
        client,
        'query { log(id: "shared") { id costSource priceVersion } }',
        key=project.reader,
    )

    assert found.data is not None
    assert found.data["log"]["costSource"] == "PRICE_TABLE"
    assert found.data["log"]["priceVersion"].startswith("genai-prices ")


async def test_a_batch_resent_after_a_failed_totals_step_is_finished_once(
    client: httpx.AsyncClient,
    project: TestProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stored calls are looked up in slices; small slices make several here.
    monkeypatch.setattr(lookups, "SLICE", 7)
    logs = [
        {"id": f"big-{index}", "provider": "p", "model": "m", "sessionId": "big"}
        for index in range(30)
    ]
    first = await post_logs(client, logs, key=project.ingest)
    assert first.json()["stored"] == 30
    # As if the first request had failed between storing and applying totals.
    await reopen_batches(project, [log["id"] for log in logs])
    await Session.get_pymongo_collection().delete_many({"project_id": project.id})

    resent = await post_logs(client, logs, key=project.ingest)

    assert resent.status_code == 200
    assert resent.json()["duplicates"] == 30
    session = await Session.get(session_key(project.id, "big"))
    assert session is not None
    assert session.call_count == 30
    assert await uncounted_call_ids(project) == set()
