"""Recording batches through GraphQL: per-item outcomes, one write, no lies."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from genai_prices import Usage, calc_price
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect

from tests.api.test_log_call import call
from tests.api.test_subscriptions import graphql_ws, next_message, subscribe
from tests.factories import TestProject, gql, uncounted_call_ids
from tests.faults import fail_bulk_writes_to

LOG_CALLS = """
mutation Batch($inputs: [LogCallInput!]!) {
  logCalls(inputs: $inputs) {
    storedCount duplicateCount rejectedCount
    results { index id status code message field }
  }
}
"""

SESSION_TOTALS = """
query Totals($id: ID!) {
  logs { totalCount }
  session(id: $id) { callCount promptTokens completionTokens costUsd }
}
"""


async def log_calls(
    client: httpx.AsyncClient, inputs: list[dict[str, Any]], *, key: str
) -> dict[str, Any]:
    result = await gql(client, LOG_CALLS, {"inputs": inputs}, key=key)
    assert result.errors == []
    assert result.data is not None
    payload: dict[str, Any] = result.data["logCalls"]
    return payload


async def test_every_item_gets_its_own_outcome_and_only_valid_ones_are_stored(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await log_calls(client, [call(id="old", sessionId="s")], key=project.ingest)

    payload = await log_calls(
        client,
        [
            call(id="new", sessionId="s"),
            call(id="bad", promptTokens=-1, sessionId="s"),
            call(id="new", sessionId="s", promptTokens=999),
            call(id="old", sessionId="s"),
            call(id="nested", metadata={"a": {"b": 1}}, sessionId="s"),
        ],
        key=project.ingest,
    )

    assert [
        (item["index"], item["id"], item["status"], item["code"], item["field"])
        for item in payload["results"]
    ] == [
        (0, "new", "STORED", None, None),
        (1, "bad", "REJECTED", "INVALID_INPUT", "promptTokens"),
        (2, "new", "DUPLICATE", None, None),
        (3, "old", "DUPLICATE", None, None),
        (4, "nested", "REJECTED", "INVALID_INPUT", "metadata"),
    ]
    assert "zero or more" in payload["results"][1]["message"]
    assert "flat object" in payload["results"][4]["message"]
    assert (
        payload["storedCount"],
        payload["duplicateCount"],
        payload["rejectedCount"],
    ) == (1, 2, 2)

    totals = await gql(client, SESSION_TOTALS, {"id": "s"}, key=project.reader)
    assert totals.data is not None
    assert totals.data["logs"] == {"totalCount": 2}
    # The in-batch duplicate with 999 prompt tokens added nothing.
    assert totals.data["session"]["callCount"] == 2
    assert totals.data["session"]["promptTokens"] == 200


async def test_calls_sent_without_ids_get_generated_ids_in_the_results(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    payload = await log_calls(client, [call(), call()], key=project.ingest)

    ids = [item["id"] for item in payload["results"]]
    assert all(ids)
    assert ids[0] != ids[1]
    found = await gql(
        client,
        "query Q($id: ID!) { log(id: $id) { id } }",
        {"id": ids[1]},
        key=project.reader,
    )
    assert found.data == {"log": {"id": ids[1]}}


async def test_a_batch_over_the_limit_is_refused_as_a_whole(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    inputs = [call(id=f"c{index}") for index in range(1001)]

    result = await gql(client, LOG_CALLS, {"inputs": inputs}, key=project.ingest)

    assert result.error_codes() == ["PAYLOAD_TOO_LARGE"]
    assert "1001 calls" in result.errors[0]["message"]
    assert "limit is 1000" in result.errors[0]["message"]
    count = await gql(client, "query { logs { totalCount } }", key=project.reader)
    assert count.data == {"logs": {"totalCount": 0}}


async def test_a_read_key_cannot_send_a_batch(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(client, LOG_CALLS, {"inputs": [call()]}, key=project.reader)

    assert result.error_codes() == ["FORBIDDEN"]


# Real models with cached and reasoning tokens: the server's price must equal
# what genai-prices itself computes for the same usage and date.
PRICED_MODELS = [
    ("openai", "gpt-4o", {"promptTokens": 1200, "cachedPromptTokens": 1000}),
    ("openai", "o3-mini", {"completionTokens": 900, "reasoningTokens": 700}),
    (
        "anthropic",
        "claude-sonnet-4-20250514",
        {"promptTokens": 5000, "cachedPromptTokens": 3000, "cacheWriteTokens": 1000},
    ),
    ("google", "gemini-2.5-flash", {"completionTokens": 800, "reasoningTokens": 500}),
    ("mistral", "mistral-large-latest", {}),
]


def genai_price(provider: str, model: str, tokens: dict[str, int]) -> float:
    usage = Usage(
        input_tokens=tokens["promptTokens"],
        cache_read_tokens=tokens.get("cachedPromptTokens"),
        cache_write_tokens=tokens.get("cacheWriteTokens"),
        output_tokens=tokens["completionTokens"],
        output_reasoning_tokens=tokens.get("reasoningTokens"),
    )
    price = calc_price(
        usage,
        model_ref=model,
        provider_id=provider,
        genai_request_timestamp=datetime(2026, 11, 1, tzinfo=UTC),
    )
    return float(price.total_price)


async def test_a_batch_prices_each_call_like_genai_prices(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    inputs = []
    expected: dict[str, float] = {}
    for provider, model, parts in PRICED_MODELS:
        tokens = {"promptTokens": 400, "completionTokens": 100} | parts
        inputs.append(
            call(
                id=model,
                provider=provider,
                model=model,
                timestamp="2026-11-01T00:00:00Z",
                **tokens,
            )
        )
        expected[model] = genai_price(provider, model, tokens)

    payload = await log_calls(client, inputs, key=project.ingest)
    assert payload["storedCount"] == len(PRICED_MODELS)

    listed = await gql(
        client,
        "query { logs { items { id costUsd costSource priceVersion } } }",
        key=project.reader,
    )
    assert listed.data is not None
    for item in listed.data["logs"]["items"]:
        assert item["costSource"] == "PRICE_TABLE"
        assert item["costUsd"] == pytest.approx(expected[item["id"]], rel=1e-9)
        assert item["priceVersion"].startswith("genai-prices ")


async def test_a_store_failure_during_the_insert_reports_nothing_stored(
    client: httpx.AsyncClient,
    project: TestProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail(*args: object, **kwargs: object) -> None:
        raise AutoReconnect("connection reset")

    monkeypatch.setattr(AsyncCollection, "insert_many", fail)
    result = await gql(
        client, LOG_CALLS, {"inputs": [call(id="a"), call(id="b")]}, key=project.ingest
    )
    monkeypatch.undo()

    assert result.data is None
    assert result.error_codes() == ["UNAVAILABLE"]
    assert "nothing was acknowledged" in result.errors[0]["message"]


async def test_a_batch_whose_totals_failed_is_finished_by_its_retry(
    client: httpx.AsyncClient,
    project: TestProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = [call(id="t1", sessionId="s"), call(id="t2", sessionId="s")]
    fail_bulk_writes_to(monkeypatch, "llm_sessions")
    failed = await gql(client, LOG_CALLS, {"inputs": inputs}, key=project.ingest)
    monkeypatch.undo()
    assert failed.error_codes() == ["UNAVAILABLE"]
    assert await uncounted_call_ids(project) == {"t1", "t2"}

    retried = await log_calls(client, inputs, key=project.ingest)

    assert [item["status"] for item in retried["results"]] == ["DUPLICATE"] * 2
    totals = await gql(client, SESSION_TOTALS, {"id": "s"}, key=project.reader)
    assert totals.data is not None
    assert totals.data["session"]["callCount"] == 2
    assert totals.data["session"]["promptTokens"] == 200
    # A third send changes nothing: the totals were applied exactly once.
    await log_calls(client, inputs, key=project.ingest)
    again = await gql(client, SESSION_TOTALS, {"id": "s"}, key=project.reader)
    assert again.data == totals.data


async def test_subscribers_receive_every_call_of_a_batch(
    client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    async with graphql_ws(
        live_url, {"authorization": f"Bearer {project.reader}"}
    ) as ws:
        await subscribe(ws)
        await log_calls(
            client,
            [
                call(id="live-1"),
                call(id="live-bad", promptTokens=-1),
                call(id="live-2"),
            ],
            key=project.ingest,
        )
        first = await next_message(ws)
        second = await next_message(ws)

    assert [
        message["payload"]["data"]["callLogged"]["id"] for message in (first, second)
    ] == ["live-1", "live-2"]
