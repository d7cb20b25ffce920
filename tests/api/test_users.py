"""From a user id to every conversation: user totals, lists and top users."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.documents import User
from tests.api.conversations import START, add_message, ago, record
from tests.factories import TestProject, gql

USER = """
query User($id: ID!) {
  user(id: $id) {
    id callCount errorCount errorRate promptTokens completionTokens totalTokens
    costUsd durationMs firstSeenAt lastSeenAt models providers sessionCount
    sessions(sort: {field: STARTED_AT, descending: false}) {
      totalCount
      items {
        id costUsd errorCount
        messages { items { seq role content } }
        calls { id status }
      }
    }
  }
}
"""


async def test_a_user_is_found_by_id_with_totals_and_every_conversation(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    key = project.ingest
    await record(
        client,
        key,
        id="1",
        userId="ann",
        sessionId="ann-1",
        timestamp=ago(30),
        promptTokens=100,
        completionTokens=10,
        costUsd=0.5,
        durationMs=100.0,
    )
    await record(
        client,
        key,
        id="2",
        userId="ann",
        sessionId="ann-1",
        timestamp=ago(29),
        promptTokens=50,
        completionTokens=5,
        costUsd=0.25,
        durationMs=50.0,
        statusCode=500,
        errorType="ServerError",
    )
    await record(
        client,
        key,
        id="3",
        userId="ann",
        sessionId="ann-2",
        timestamp=ago(10),
        provider="anthropic",
        model="claude-sonnet-4",
        promptTokens=10,
        completionTokens=1,
        costUsd=1.0,
        durationMs=200.0,
    )
    await record(client, key, id="4", userId="bob", sessionId="bob-1")
    await add_message(client, key, sessionId="ann-1", role="USER", content="hello")
    await add_message(client, key, sessionId="ann-1", role="ASSISTANT", content="hi!")

    result = await gql(client, USER, {"id": "ann"}, key=project.reader)

    assert result.errors == []
    assert result.data is not None
    user = result.data["user"]
    assert {
        name: user[name]
        for name in (
            "id",
            "callCount",
            "errorCount",
            "errorRate",
            "promptTokens",
            "completionTokens",
            "totalTokens",
            "costUsd",
            "durationMs",
            "models",
            "providers",
            "sessionCount",
        )
    } == {
        "id": "ann",
        "callCount": 3,
        "errorCount": 1,
        "errorRate": 1 / 3,
        "promptTokens": 160,
        "completionTokens": 16,
        "totalTokens": 176,
        "costUsd": 1.75,
        "durationMs": 350.0,
        "models": ["claude-sonnet-4", "gpt-4o-mini"],
        "providers": ["anthropic", "openai"],
        "sessionCount": 2,
    }
    assert user["firstSeenAt"] < user["lastSeenAt"]
    sessions = user["sessions"]
    assert sessions["totalCount"] == 2
    first, second = sessions["items"]
    assert (first["id"], first["costUsd"], first["errorCount"]) == ("ann-1", 0.75, 1)
    assert first["messages"]["items"] == [
        {"seq": 1, "role": "USER", "content": "hello"},
        {"seq": 2, "role": "ASSISTANT", "content": "hi!"},
    ]
    assert first["calls"] == [
        {"id": "1", "status": "SUCCESS"},
        {"id": "2", "status": "ERROR"},
    ]
    assert second["id"] == "ann-2"


async def test_a_user_is_one_document_keyed_by_project_and_id(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="x", userId="kim", costUsd=0.1)
    await record(client, project.ingest, id="y", userId="kim", costUsd=0.2)

    stored = await User.get(f"{project.id}:kim")

    assert stored is not None
    assert stored.call_count == 2
    assert await User.find({"project_id": project.id}).count() == 1


async def test_starting_a_session_for_a_user_makes_the_user_findable(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await gql(
        client, START, {"input": {"id": "s", "userId": "new"}}, key=project.ingest
    )

    result = await gql(
        client,
        '{ user(id: "new") { callCount sessionCount errorRate } }',
        key=project.reader,
    )

    assert result.data == {
        "user": {"callCount": 0, "sessionCount": 1, "errorRate": None}
    }


async def test_unknown_users_are_null(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(client, '{ user(id: "ghost") { id } }', key=project.reader)

    assert result.errors == []
    assert result.data == {"user": None}


USERS = """
query Users($filter: UserFilterInput, $sort: UserSortInput, $after: String) {
  users(filter: $filter, sort: $sort, pagination: {first: 2, after: $after}) {
    totalCount items { id costUsd } pageInfo { hasNextPage endCursor }
  }
}
"""


async def all_user_ids(
    client: httpx.AsyncClient, project: TestProject, **variables: Any
) -> list[str]:
    found: list[str] = []
    after = None
    while True:
        result = await gql(
            client, USERS, {**variables, "after": after}, key=project.reader
        )
        assert result.errors == [], result.errors
        assert result.data is not None
        page = result.data["users"]
        found += [item["id"] for item in page["items"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_users_list_filters_and_sorts_with_cursors(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    spend = {"u-a": 3.0, "u-b": 1.0, "u-c": 2.0, "x-d": 1.0, "u-e": 0.5}
    for index, (user_id, cost) in enumerate(spend.items()):
        await record(
            client,
            project.ingest,
            id=str(index),
            userId=user_id,
            costUsd=cost,
            timestamp=ago(50 - index),
            **({"statusCode": 500} if user_id == "u-c" else {}),
        )

    by_cost = await all_user_ids(client, project, sort={"field": "COST"})
    newest = await all_user_ids(client, project)
    prefixed = await all_user_ids(
        client,
        project,
        filter={"idPrefix": "u-"},
        sort={"field": "COST", "descending": False},
    )
    failing = await all_user_ids(client, project, filter={"hasErrors": True})
    rich = await all_user_ids(client, project, filter={"minCostUsd": 2})

    assert by_cost == ["u-a", "u-c", "x-d", "u-b", "u-e"]
    assert newest == ["u-e", "x-d", "u-c", "u-b", "u-a"]
    assert prefixed == ["u-e", "u-b", "u-c", "u-a"]
    assert failing == ["u-c"]
    assert set(rich) == {"u-a", "u-c"}


TOP = """
query Top($range: ActivityRangeInput!, $by: UserRanking, $limit: Int) {
  topUsers(range: $range, by: $by, limit: $limit) {
    userId callCount errorCount costUsd totalTokens user { id callCount }
  }
}
"""


async def test_top_users_rank_the_calls_inside_the_range_only(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    now = datetime.now(UTC)
    inside = (now - timedelta(hours=2)).isoformat()
    outside = (now - timedelta(days=3)).isoformat()
    calls = [
        ("big-spender", inside, 5.0),
        ("busy", inside, 0.1),
        ("busy", inside, 0.1),
        ("busy", inside, 0.1),
        ("old-whale", outside, 100.0),
        ("big-spender", outside, 50.0),
    ]
    for index, (user_id, timestamp, cost) in enumerate(calls):
        await record(
            client,
            project.ingest,
            id=str(index),
            userId=user_id,
            timestamp=timestamp,
            costUsd=cost,
        )
    window = {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": now.isoformat(),
    }

    by_cost = await gql(
        client, TOP, {"range": window, "by": "COST"}, key=project.reader
    )
    by_calls = await gql(
        client, TOP, {"range": window, "by": "CALLS", "limit": 1}, key=project.reader
    )

    assert by_cost.errors == []
    assert by_cost.data is not None
    assert [
        (row["userId"], row["costUsd"], row["callCount"])
        for row in by_cost.data["topUsers"]
    ] == [
        ("big-spender", 5.0, 1),
        ("busy", pytest.approx(0.3), 3),
    ]
    assert by_cost.data["topUsers"][0]["user"] == {"id": "big-spender", "callCount": 2}
    assert by_calls.data is not None
    assert [row["userId"] for row in by_calls.data["topUsers"]] == ["busy"]


async def test_top_users_refuse_unbounded_ranges(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    too_long = {"start": "2026-01-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}
    inverted = {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}

    long_result = await gql(client, TOP, {"range": too_long}, key=project.reader)
    inverted_result = await gql(client, TOP, {"range": inverted}, key=project.reader)
    big_limit = await gql(
        client,
        TOP,
        {
            "range": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
            "limit": 500,
        },
        key=project.reader,
    )

    assert long_result.error_codes() == ["INVALID_INPUT"]
    assert "limit is 93 days" in long_result.errors[0]["message"]
    assert inverted_result.error_codes() == ["INVALID_INPUT"]
    assert big_limit.error_codes() == ["INVALID_INPUT"]
