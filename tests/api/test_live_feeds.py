"""callLogged and sessionUpdated over a real WebSocket: filters, scoping, errors."""

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.http.shared_feeds import SharedFeeds
from app.pubsub import Broker, calls_topic, sessions_topic
from tests.factories import TestProject, gql
from tests.live_helpers import LiveClient, wait_until

LOG_CALL = """
mutation Record($input: LogCallInput!) { logCall(input: $input) { id } }
"""

CALL_LOGGED = """
subscription Calls($filter: LiveCallFilterInput) {
  callLogged(filter: $filter) { id provider model status userId sessionId costUsd durationMs }
}
"""

SESSION_UPDATED = """
subscription Sessions($filter: SessionUpdateFilterInput) {
  sessionUpdated(filter: $filter) {
    change
    session { id status callCount errorCount totalTokens costUsd models calls { id } }
  }
}
"""


def call(call_id: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": call_id,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "promptTokens": 100,
        "completionTokens": 20,
        "durationMs": 350.0,
    }
    return base | overrides


async def record(client: httpx.AsyncClient, key: str, payload: dict[str, Any]) -> None:
    result = await gql(client, LOG_CALL, {"input": payload}, key=key)
    assert result.errors == [], result.errors


async def wait_for_subscribers(app: Starlette, topic: str, count: int) -> None:
    """Until `count` subscriptions to `topic`'s feed are registered, and every
    shared feed serving them listens on the broker."""
    feeds: SharedFeeds = app.state.shared_feeds
    broker: Broker = app.state.broker
    kind, _, project_id = topic.partition(":")
    field = {"calls": "callLogged", "sessions": "sessionUpdated"}[kind]

    def listening() -> bool:
        running, members = feeds.counts(project_id, field)
        return members >= count and broker.subscriber_count(topic) >= running

    await wait_until(listening, f"{count} subscription(s) listen on {topic}")


async def test_call_logged_delivers_only_calls_matching_every_filter_field(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    narrow = {
        "providers": ["Anthropic"],
        "models": ["claude-sonnet-4"],
        "statuses": ["ERROR"],
        "environments": ["staging"],
        "userId": "u-1",
        "sessionId": "s-1",
        "minCostUsd": 0.001,
        "minDurationMs": 500,
    }
    matching = call(
        "hit",
        provider="anthropic",
        model="claude-sonnet-4",
        status="ERROR",
        environment="staging",
        userId="u-1",
        sessionId="s-1",
        costUsd=0.002,
        durationMs=900.0,
    )
    # Each near miss differs from `matching` in exactly one field.
    near_misses = [
        matching | {"id": "other-provider", "provider": "openai"},
        matching | {"id": "other-model", "model": "claude-haiku"},
        matching | {"id": "success", "status": "SUCCESS"},
        matching | {"id": "production", "environment": "production"},
        matching | {"id": "other-user", "userId": "u-2"},
        matching | {"id": "other-session", "sessionId": "s-2"},
        matching | {"id": "cheap", "costUsd": 0.0005},
        matching | {"id": "fast", "durationMs": 499.0},
    ]

    async with LiveClient.open(live_url, project.reader) as live:
        everything = await live.subscribe(CALL_LOGGED)
        filtered = await live.subscribe(CALL_LOGGED, {"filter": narrow})
        await wait_for_subscribers(app, calls_topic(project.id), 2)

        for payload in [*near_misses, matching]:
            await record(client, project.ingest, payload)

        received = [
            (await live.next_data(everything))["callLogged"]["id"]
            for _ in range(len(near_misses) + 1)
        ]
        assert received == [payload["id"] for payload in [*near_misses, matching]]
        # The filtered feed's first event is the last call: every miss was skipped.
        first = (await live.next_data(filtered))["callLogged"]
        assert first == {
            "id": "hit",
            "provider": "anthropic",
            "model": "claude-sonnet-4",
            "status": "ERROR",
            "userId": "u-1",
            "sessionId": "s-1",
            "costUsd": 0.002,
            "durationMs": 900.0,
        }


async def test_call_logged_minimum_cost_never_matches_an_unpriced_call(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        priced = await live.subscribe(CALL_LOGGED, {"filter": {"minCostUsd": 0}})
        await wait_for_subscribers(app, calls_topic(project.id), 1)

        await record(client, project.ingest, call("unknown", model="no-such-model-x"))
        await record(client, project.ingest, call("known", costUsd=0.0))

        event = await live.next_data(priced)
        assert event["callLogged"]["id"] == "known"


async def test_call_logged_never_crosses_projects(
    app: Starlette,
    client: httpx.AsyncClient,
    live_url: str,
    project: TestProject,
    other_project: TestProject,
) -> None:
    async with LiveClient.open(live_url, other_project.reader) as live:
        feed = await live.subscribe(CALL_LOGGED)
        await wait_for_subscribers(app, calls_topic(other_project.id), 1)

        await record(client, project.ingest, call("secret-of-a"))
        await record(client, other_project.ingest, call("own-call"))

        event = await live.next_data(feed)
        assert event["callLogged"]["id"] == "own-call"


async def test_call_logged_rejects_a_negative_minimum_naming_the_field(
    live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        feed = await live.subscribe(CALL_LOGGED, {"filter": {"minDurationMs": -1}})
        message = await live.next_message(feed)

    errors = LiveClient.errors_of(message)
    assert errors[0]["extensions"] == {
        "code": "INVALID_INPUT",
        "field": "filter.minDurationMs",
    }
    assert "zero or more" in errors[0]["message"]


async def test_call_logged_needs_the_read_scope(
    live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.ingest) as live:
        feed = await live.subscribe(CALL_LOGGED)
        message = await live.next_message(feed)

    errors = LiveClient.errors_of(message)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert "'read' scope" in errors[0]["message"]


async def test_session_updated_reports_creation_then_totals_with_the_session(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        feed = await live.subscribe(SESSION_UPDATED)
        await wait_for_subscribers(app, sessions_topic(project.id), 1)

        await record(client, project.ingest, call("c-1", sessionId="chat-1"))
        created = (await live.next_data(feed))["sessionUpdated"]
        await record(
            client,
            project.ingest,
            call("c-2", sessionId="chat-1", status="ERROR", model="gpt-4o"),
        )
        changed = (await live.next_data(feed))["sessionUpdated"]

    assert created["change"] == "CREATED"
    assert created["session"]["id"] == "chat-1"
    assert created["session"]["callCount"] == 1
    assert created["session"]["calls"] == [{"id": "c-1"}]
    assert changed["change"] == "TOTALS_CHANGED"
    assert changed["session"]["callCount"] == 2
    assert changed["session"]["errorCount"] == 1
    assert changed["session"]["totalTokens"] == 240
    assert changed["session"]["models"] == ["gpt-4o", "gpt-4o-mini"]
    # Nested fields are read fresh for each event, not from a cached loader.
    assert changed["session"]["calls"] == [{"id": "c-1"}, {"id": "c-2"}]


async def test_session_updated_filters_by_change_and_session(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        created_only = await live.subscribe(
            SESSION_UPDATED, {"filter": {"changes": ["CREATED"]}}
        )
        one_session = await live.subscribe(
            SESSION_UPDATED, {"filter": {"sessionId": "b"}}
        )
        await wait_for_subscribers(app, sessions_topic(project.id), 2)

        await record(client, project.ingest, call("1", sessionId="a"))
        await record(client, project.ingest, call("2", sessionId="a"))
        await record(client, project.ingest, call("3", sessionId="b"))

        first_created = (await live.next_data(created_only))["sessionUpdated"]
        second_created = (await live.next_data(created_only))["sessionUpdated"]
        only_b = (await live.next_data(one_session))["sessionUpdated"]

    assert [first_created["session"]["id"], second_created["session"]["id"]] == [
        "a",
        "b",
    ]
    assert {first_created["change"], second_created["change"]} == {"CREATED"}
    assert only_b["session"]["id"] == "b"


async def test_identical_subscriptions_share_one_execution_per_process(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    feeds, broker = app.state.shared_feeds, app.state.broker
    topic = calls_topic(project.id)
    async with (
        LiveClient.open(live_url, project.reader) as first,
        LiveClient.open(live_url, project.reader) as second,
    ):
        first_feed = await first.subscribe(CALL_LOGGED)
        second_feed = await second.subscribe(CALL_LOGGED)
        async with LiveClient.open(live_url, project.reader) as third:
            third_feed = await third.subscribe(CALL_LOGGED)
            await wait_for_subscribers(app, topic, 3)
            assert feeds.counts(project.id, "callLogged") == (1, 3)
            assert broker.subscriber_count(topic) == 1

            await record(client, project.ingest, call("shared"))
            for live, feed in (
                (first, first_feed),
                (second, second_feed),
                (third, third_feed),
            ):
                assert (await live.next_data(feed))["callLogged"]["id"] == "shared"

        # One member leaving leaves the feed running for the others.
        await wait_until(
            lambda: feeds.counts(project.id, "callLogged") == (1, 2), "the third left"
        )
        await record(client, project.ingest, call("after-third-left"))
        assert (await first.next_data(first_feed))["callLogged"][
            "id"
        ] == "after-third-left"
        await first.send({"id": first_feed, "type": "complete"})
        assert (await second.next_data(second_feed))["callLogged"]["id"] == (
            "after-third-left"
        )

    await wait_until(
        lambda: broker.subscriber_count(topic) == 0,
        "the last member's leaving stops the feed and its broker subscription",
    )
    assert feeds.counts(project.id, "callLogged") == (0, 0)


async def test_session_updated_reports_messages_and_completion(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    add_message = """
    mutation Add($input: AddSessionMessageInput!) {
      addSessionMessage(input: $input) { session { id } }
    }
    """
    complete = "mutation Done($id: ID!) { completeSession(id: $id) { id } }"
    async with LiveClient.open(live_url, project.reader) as live:
        feed = await live.subscribe(
            SESSION_UPDATED,
            {"filter": {"changes": ["MESSAGE_ADDED", "COMPLETED"]}},
        )
        await wait_for_subscribers(app, sessions_topic(project.id), 1)

        added = await gql(
            client,
            add_message,
            {"input": {"sessionId": "talk", "role": "USER", "content": "hi"}},
            key=project.ingest,
        )
        assert added.errors == []
        done = await gql(client, complete, {"id": "talk"}, key=project.ingest)
        assert done.errors == []

        message = (await live.next_data(feed))["sessionUpdated"]
        completion = (await live.next_data(feed))["sessionUpdated"]

    assert (message["change"], message["session"]["id"]) == ("MESSAGE_ADDED", "talk")
    assert (completion["change"], completion["session"]["status"]) == (
        "COMPLETED",
        "COMPLETED",
    )


async def test_a_batch_is_published_once_and_delivered_in_order(
    app: Starlette,
    client: httpx.AsyncClient,
    live_url: str,
    project: TestProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = app.state.broker
    published: list[tuple[str, int]] = []
    publish_many = broker.publish_many

    async def counting(topic: str, events: Sequence[object]) -> None:
        published.append((topic, len(events)))
        await publish_many(topic, events)

    monkeypatch.setattr(broker, "publish_many", counting)
    log_calls = "mutation Batch($inputs: [LogCallInput!]!) { logCalls(inputs: $inputs) { storedCount } }"
    async with LiveClient.open(live_url, project.reader) as live:
        feed = await live.subscribe(CALL_LOGGED)
        await wait_for_subscribers(app, calls_topic(project.id), 1)

        result = await gql(
            client,
            log_calls,
            {"inputs": [call(f"b{index}") for index in range(3)]},
            key=project.ingest,
        )
        received = [(await live.next_data(feed))["callLogged"]["id"] for _ in range(3)]

    assert result.data == {"logCalls": {"storedCount": 3}}
    assert published == [(calls_topic(project.id), 3)]
    assert received == ["b0", "b1", "b2"]
