"""Recording calls through GraphQL: validation, idempotency, sessions, scopes."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from genai_prices import Usage, calc_price

from tests.factories import TestProject, gql

LOG_CALL = """
mutation Record($input: LogCallInput!) {
  logCall(input: $input) {
    id provider model status totalTokens promptTokens completionTokens
    costUsd costSource sessionId receivedAt error { type message }
  }
}
"""

COUNT_LOGS = "query Count { logs { totalCount } }"


def call(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "promptTokens": 100,
        "completionTokens": 20,
        "durationMs": 350.0,
    }
    return base | overrides


async def test_log_call_stores_the_call_and_computes_the_total(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(
        client,
        LOG_CALL,
        {"input": call(id="c-1", provider="OpenAI")},
        key=project.ingest,
    )

    assert result.errors == []
    assert result.data is not None
    stored = result.data["logCall"]
    assert stored["id"] == "c-1"
    assert stored["provider"] == "openai"
    assert stored["totalTokens"] == 120
    assert stored["status"] == "SUCCESS"

    found = await gql(
        client, 'query { log(id: "c-1") { id model durationMs } }', key=project.reader
    )
    assert found.data == {
        "log": {"id": "c-1", "model": "gpt-4o-mini", "durationMs": 350.0}
    }


INVALID_CALLS = [
    pytest.param(call(provider="  "), "provider", "required", id="blank provider"),
    pytest.param(call(model=""), "model", "required", id="blank model"),
    pytest.param(
        call(provider="p" * 300), "provider", "limit is 256", id="long provider"
    ),
    pytest.param(
        call(timestamp="2026-01-01T12:00:00"), "timestamp", "time zone", id="naive time"
    ),
    pytest.param(
        call(timestamp="2999-01-01T00:00:00Z"), "timestamp", "future", id="future time"
    ),
    pytest.param(
        call(promptTokens=-1), "promptTokens", "zero or more", id="negative tokens"
    ),
    pytest.param(call(totalTokens=7), "totalTokens", "must equal", id="wrong total"),
    pytest.param(
        call(cachedPromptTokens=101),
        "cachedPromptTokens",
        "(101) exceed promptTokens (100)",
        id="cache over prompt",
    ),
    pytest.param(
        call(cacheWriteTokens=60, cachedPromptTokens=50),
        "cachedPromptTokens",
        "exceed",
        id="cache parts over prompt",
    ),
    pytest.param(
        call(reasoningTokens=21),
        "reasoningTokens",
        "(21) exceed completionTokens (20)",
        id="reasoning over output",
    ),
    pytest.param(
        call(durationMs=-5), "durationMs", "zero or more", id="negative duration"
    ),
    pytest.param(call(costUsd=-0.01), "costUsd", "zero or more", id="negative cost"),
    pytest.param(
        call(statusCode=42), "statusCode", "between 100 and 599", id="bad status code"
    ),
    pytest.param(
        call(tags=[f"t{i}" for i in range(40)]),
        "tags",
        "limit is 32",
        id="too many tags",
    ),
    pytest.param(
        call(metadata={"a.b": 1}), "metadata", "without '.'", id="dotted metadata key"
    ),
    pytest.param(
        call(metadata={"$where": "x"}),
        "metadata",
        "leading '$'",
        id="operator metadata key",
    ),
    pytest.param(
        call(metadata={"nested": {"a": 1}}),
        "metadata",
        "flat object",
        id="nested metadata",
    ),
    pytest.param(
        call(metadata=["not", "an", "object"]),
        "metadata",
        "flat object",
        id="list metadata",
    ),
    pytest.param(call(id="x" * 200), "id", "limit is 128", id="long id"),
]


@pytest.mark.parametrize(("payload", "field", "hint"), INVALID_CALLS)
async def test_log_call_rejects_invalid_input_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    project: TestProject,
    payload: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    result = await gql(client, LOG_CALL, {"input": payload}, key=project.ingest)

    assert result.data is None
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": field}
    assert hint in error["message"]
    count = await gql(client, COUNT_LOGS, key=project.reader)
    assert count.data == {"logs": {"totalCount": 0}}


async def test_log_call_rejects_a_wrongly_typed_field_before_running(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(
        client, LOG_CALL, {"input": call(promptTokens="many")}, key=project.ingest
    )

    assert result.data is None
    assert result.error_codes() == ["GRAPHQL_VALIDATION_FAILED"]
    assert "promptTokens" in result.errors[0]["message"]


async def test_a_retried_call_id_returns_the_stored_call_and_writes_nothing(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    first = await gql(
        client,
        LOG_CALL,
        {"input": call(id="retry-1", sessionId="s")},
        key=project.ingest,
    )
    second = await gql(
        client,
        LOG_CALL,
        {"input": call(id="retry-1", sessionId="s", model="other", promptTokens=999)},
        key=project.ingest,
    )

    assert first.data is not None
    assert second.data == first.data
    totals = await gql(
        client,
        'query { logs { totalCount } session(id: "s") { callCount promptTokens } }',
        key=project.reader,
    )
    assert totals.data == {
        "logs": {"totalCount": 1},
        "session": {"callCount": 1, "promptTokens": 100},
    }


async def test_failed_status_from_the_origin_sdk_is_recorded_as_an_error(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    payload = call(statusCode=429, errorType="RateLimitError", errorMessage="slow down")
    result = await gql(client, LOG_CALL, {"input": payload}, key=project.ingest)

    assert result.data is not None
    stored = result.data["logCall"]
    assert stored["status"] == "ERROR"
    assert stored["error"] == {"type": "RateLimitError", "message": "slow down"}


async def test_a_call_with_a_reported_cost_keeps_it_as_reported(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(
        client, LOG_CALL, {"input": call(costUsd=0.0123)}, key=project.ingest
    )

    assert result.data is not None
    assert result.data["logCall"]["costUsd"] == 0.0123
    assert result.data["logCall"]["costSource"] == "REPORTED"


async def test_a_call_without_a_cost_is_priced_from_the_price_table(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    payload = call(
        model="gpt-4o",
        promptTokens=1000,
        cachedPromptTokens=400,
        completionTokens=200,
        timestamp="2026-11-01T00:00:00Z",
    )
    result = await gql(client, LOG_CALL, {"input": payload}, key=project.ingest)

    expected = calc_price(
        Usage(input_tokens=1000, cache_read_tokens=400, output_tokens=200),
        model_ref="gpt-4o",
        provider_id="openai",
        genai_request_timestamp=datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert result.data is not None
    assert result.data["logCall"]["costSource"] == "PRICE_TABLE"
    assert result.data["logCall"]["costUsd"] == pytest.approx(
        float(expected.total_price)
    )


async def test_an_unknown_model_is_unpriced_with_a_null_cost(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(
        client, LOG_CALL, {"input": call(model="my-finetune-xyz")}, key=project.ingest
    )

    assert result.data is not None
    assert result.data["logCall"]["costSource"] == "UNPRICED"
    assert result.data["logCall"]["costUsd"] is None


async def test_a_read_only_key_cannot_record_calls(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(client, LOG_CALL, {"input": call()}, key=project.reader)

    assert result.error_codes() == ["FORBIDDEN"]
    assert "'ingest' scope" in result.errors[0]["message"]


async def test_an_ingest_key_cannot_read(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(client, COUNT_LOGS, key=project.ingest)

    assert result.data is None
    assert result.error_codes() == ["FORBIDDEN"]
