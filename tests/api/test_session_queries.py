"""Listing sessions: every filter, every sort with stable cursors, and statistics."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conversations import START, add_message, record
from tests.factories import TestProject, gql

LIST = """
query List($filter: SessionFilterInput, $sort: SessionSortInput, $after: String, $first: Int!) {
  sessions(filter: $filter, sort: $sort, pagination: {first: $first, after: $after}) {
    totalCount items { id } pageInfo { hasNextPage endCursor }
  }
}
"""


def minutes_ago(now: datetime, minutes: float) -> str:
    return (now - timedelta(minutes=minutes)).isoformat()


async def seed_five_sessions(client: httpx.AsyncClient, project: TestProject) -> None:
    """s1…s5 with ties on cost, calls and duration (see the table in each test)."""
    now = datetime.now(UTC)
    key = project.ingest
    await gql(
        client,
        START,
        {
            "input": {
                "id": "s1",
                "metadata": {"plan": "pro", "tier": 2},
                "startedAt": minutes_ago(now, 50),
            }
        },
        key=key,
    )
    calls: list[dict[str, Any]] = [
        {"sessionId": "s1", "userId": "ua", "minutes": 50, "cost": 0.2, "ms": 100},
        {"sessionId": "s2", "userId": "ua", "minutes": 40, "cost": 0.1, "ms": 50},
        {"sessionId": "s2", "userId": "ua", "minutes": 31, "cost": 0.1, "ms": 50},
        {"sessionId": "s3", "userId": "ub", "minutes": 20, "cost": 0.2, "ms": 10},
        {"sessionId": "s3", "userId": "ub", "minutes": 19, "cost": 0.2, "ms": 10},
        {"sessionId": "s3", "userId": "ub", "minutes": 18, "cost": 0.1, "ms": 10},
        {"sessionId": "s4", "minutes": 10, "cost": 0.0, "ms": 400, "statusCode": 500},
        {"sessionId": "s5", "minutes": 60, "cost": 0.45, "ms": 200},
        {"sessionId": "s5", "minutes": 5, "cost": 0.45, "ms": 0},
    ]
    for index, spec in enumerate(calls):
        extra: dict[str, Any] = {}
        if "userId" in spec:
            extra["userId"] = spec["userId"]
        if "statusCode" in spec:
            extra["statusCode"] = spec["statusCode"]
        await record(
            client,
            key,
            id=f"c{index}",
            sessionId=spec["sessionId"],
            model="gpt-4o" if spec["sessionId"] == "s3" else "gpt-4o-mini",
            timestamp=minutes_ago(now, spec["minutes"]),
            costUsd=spec["cost"],
            durationMs=float(spec["ms"]),
            **extra,
        )


async def ids(
    client: httpx.AsyncClient,
    project: TestProject,
    *,
    filter: dict[str, Any] | None = None,
    sort: dict[str, Any] | None = None,
    first: int = 100,
) -> list[str]:
    """Every matching session id, following the cursors page by page."""
    found: list[str] = []
    after = None
    while True:
        result = await gql(
            client,
            LIST,
            {"filter": filter, "sort": sort, "after": after, "first": first},
            key=project.reader,
        )
        assert result.errors == [], result.errors
        assert result.data is not None
        page = result.data["sessions"]
        found += [item["id"] for item in page["items"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(found)
            return found
        after = page["pageInfo"]["endCursor"]


# Orders worked out by hand from seed_five_sessions; ties break on the id.
#            started  last activity  cost   calls  duration
#   s1       -50      -50            0.2    1      100
#   s2       -40      -31            0.2    2      100
#   s3       -20      -18            0.5    3       30
#   s4       -10      -10            0.0    1      400
#   s5       -60       -5            0.9    2      200
SORTED = [
    ("STARTED_AT", True, ["s4", "s3", "s2", "s1", "s5"]),
    ("STARTED_AT", False, ["s5", "s1", "s2", "s3", "s4"]),
    ("LAST_ACTIVITY_AT", True, ["s5", "s4", "s3", "s2", "s1"]),
    ("COST", True, ["s5", "s3", "s2", "s1", "s4"]),
    ("COST", False, ["s4", "s1", "s2", "s3", "s5"]),
    ("CALLS", True, ["s3", "s5", "s2", "s4", "s1"]),
    ("CALLS", False, ["s1", "s4", "s2", "s5", "s3"]),
    ("DURATION", True, ["s4", "s5", "s2", "s1", "s3"]),
    ("DURATION", False, ["s3", "s1", "s2", "s5", "s4"]),
]


async def test_every_sort_pages_through_all_sessions_in_order(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_five_sessions(client, project)

    for field, descending, expected in SORTED:
        sort = {"field": field, "descending": descending}
        assert await ids(client, project, sort=sort, first=2) == expected, sort


async def test_a_cursor_from_another_sort_order_is_refused(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_five_sessions(client, project)
    first = await gql(
        client,
        LIST,
        {"sort": {"field": "COST"}, "first": 1, "after": None, "filter": None},
        key=project.reader,
    )
    assert first.data is not None
    cursor = first.data["sessions"]["pageInfo"]["endCursor"]

    mixed = await gql(
        client,
        LIST,
        {"sort": {"field": "CALLS"}, "first": 1, "after": cursor, "filter": None},
        key=project.reader,
    )

    assert mixed.error_codes() == ["INVALID_INPUT"]
    assert "another sort order" in mixed.errors[0]["message"]


async def test_each_filter_selects_what_it_says(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_five_sessions(client, project)
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"userId": "ua"}, {"s1", "s2"}),
        ({"models": ["gpt-4o"]}, {"s3"}),
        ({"minCostUsd": 0.5}, {"s3", "s5"}),
        ({"hasErrors": True}, {"s4"}),
        ({"hasErrors": False}, {"s1", "s2", "s3", "s5"}),
        ({"metadata": [{"key": "plan", "value": "pro"}]}, {"s1"}),
        ({"metadata": [{"key": "tier", "value": 2}]}, {"s1"}),
        ({"metadata": [{"key": "tier", "value": "2"}]}, set()),
        (
            {"start": minutes_ago(now, 25), "end": minutes_ago(now, 15)},
            {"s3", "s5"},
        ),
        ({"startedSince": minutes_ago(now, 45)}, {"s2", "s3", "s4"}),
        ({"statuses": ["ABANDONED"]}, {"s1", "s2"}),
        ({"statuses": ["ACTIVE"]}, {"s3", "s4", "s5"}),
        ({"statuses": ["ACTIVE", "ABANDONED"], "userId": "ua"}, {"s1", "s2"}),
        ({"statuses": ["COMPLETED"]}, set()),
    ]

    for session_filter, expected in cases:
        assert set(await ids(client, project, filter=session_filter)) == expected, (
            session_filter
        )


async def test_bad_filters_are_refused_with_the_field(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    cases = [
        ({"metadata": [{"key": "a.b", "value": 1}]}, "filter.metadata.key"),
        ({"metadata": [{"key": "k", "value": {"x": 1}}]}, "filter.metadata.value"),
        ({"minCostUsd": -1}, "filter.minCostUsd"),
        (
            {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            "filter.start",
        ),
        ({"activeSince": "2026-01-02T00:00:00"}, "filter.activeSince"),
    ]
    for session_filter, field in cases:
        result = await gql(
            client,
            LIST,
            {"filter": session_filter, "first": 5, "after": None, "sort": None},
            key=project.reader,
        )
        assert result.error_codes() == ["INVALID_INPUT"], session_filter
        assert result.errors[0]["extensions"]["field"] == field


STATS = """
query Stats($filter: SessionFilterInput) {
  sessionStats(filter: $filter) {
    count
    messages { average p50 p90 p99 max }
    calls { average p50 p90 p99 max }
    costUsd { average p50 p90 p99 max }
    wallDurationMs { average p50 p90 p99 max }
    errorRate { average p50 p90 p99 max }
    totals { callCount errorCount messageCount costUsd messageCostUsd messageDurationMs }
  }
}
"""


async def seed_stats_sessions(client: httpx.AsyncClient, project: TestProject) -> None:
    """Sessions A-D of the hand-worked table in the statistics test."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def at(minutes: int) -> str:
        return (base + timedelta(minutes=minutes)).isoformat()

    key = project.ingest
    # A: 2 calls (1 failed), $0.4, 10 minutes; 3 messages of $0.1 and 100 ms.
    await record(client, key, id="a1", sessionId="A", timestamp=at(0), costUsd=0.3)
    await record(
        client,
        key,
        id="a2",
        sessionId="A",
        timestamp=at(10),
        costUsd=0.1,
        statusCode=429,
    )
    for index in range(3):
        await add_message(
            client,
            key,
            sessionId="A",
            role="USER",
            timestamp=at(index + 1),
            costUsd=0.1,
            durationMs=100.0,
        )
    # B: 1 call, $0.1, no wall time; 1 message of $0.2 and 50 ms.
    await record(client, key, id="b1", sessionId="B", timestamp=at(20), costUsd=0.1)
    await add_message(
        client,
        key,
        sessionId="B",
        role="USER",
        timestamp=at(20),
        costUsd=0.2,
        durationMs=50.0,
    )
    # C: 4 calls (2 failed), $1.5, 3 minutes; no messages.
    for index, (cost, failed) in enumerate(
        [(0.5, True), (0.5, False), (0.25, True), (0.25, False)]
    ):
        await record(
            client,
            key,
            id=f"c{index}",
            sessionId="C",
            timestamp=at(30 + index),
            costUsd=cost,
            **({"statusCode": 500} if failed else {}),
        )
    # D: no calls; 2 messages ($0.3 and $0, 10 and 20 ms) one minute apart.
    await add_message(
        client,
        key,
        sessionId="D",
        role="USER",
        timestamp=at(40),
        costUsd=0.3,
        durationMs=10.0,
    )
    await add_message(
        client, key, sessionId="D", role="ASSISTANT", timestamp=at(41), durationMs=20.0
    )


async def test_session_stats_match_values_worked_out_by_hand(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_stats_sessions(client, project)

    result = await gql(client, STATS, key=project.reader)

    assert result.errors == []
    assert result.data is not None
    stats = result.data["sessionStats"]
    # messages per session: A 3, B 1, C 0, D 2 -> sorted 0 1 2 3
    # nearest rank: p50 = 2nd value, p90 and p99 = 4th value
    assert stats["count"] == 4
    assert stats["messages"] == {"average": 1.5, "p50": 1, "p90": 3, "p99": 3, "max": 3}
    # calls: A 2, B 1, C 4, D 0 -> sorted 0 1 2 4
    assert stats["calls"] == {"average": 1.75, "p50": 1, "p90": 4, "p99": 4, "max": 4}
    # cost: A 0.4, B 0.1, C 1.5, D 0 -> sorted 0 0.1 0.4 1.5, average 2.0 / 4
    cost = stats["costUsd"]
    assert cost["average"] == pytest.approx(0.5)
    assert (cost["p50"], cost["p90"], cost["p99"], cost["max"]) == pytest.approx(
        (0.1, 1.5, 1.5, 1.5)
    )
    # wall: A 10 min, B 0, C 3 min, D 1 min -> sorted 0 1 3 10 minutes
    minute = 60_000
    assert stats["wallDurationMs"] == {
        "average": 14 * minute / 4,
        "p50": minute,
        "p90": 10 * minute,
        "p99": 10 * minute,
        "max": 10 * minute,
    }
    # error rate: A 1/2, B 0, C 2/4, D has no calls and is left out -> 0 0.5 0.5
    assert stats["errorRate"]["average"] == pytest.approx(1 / 3)
    assert (stats["errorRate"]["p50"], stats["errorRate"]["p90"]) == (0.5, 0.5)
    totals = stats["totals"]
    assert (totals["callCount"], totals["errorCount"], totals["messageCount"]) == (
        7,
        3,
        6,
    )
    assert totals["costUsd"] == pytest.approx(2.0)
    assert totals["messageCostUsd"] == pytest.approx(0.8)
    assert totals["messageDurationMs"] == 380.0

    only_failing = await gql(
        client, STATS, {"filter": {"hasErrors": True}}, key=project.reader
    )
    assert only_failing.data is not None
    assert only_failing.data["sessionStats"]["count"] == 2
    assert only_failing.data["sessionStats"]["calls"]["average"] == 3.0


async def test_stats_of_no_sessions_are_zero_and_null(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(client, STATS, key=project.reader)

    assert result.data is not None
    stats = result.data["sessionStats"]
    assert stats["count"] == 0
    assert stats["messages"] == {
        "average": None,
        "p50": None,
        "p90": None,
        "p99": None,
        "max": None,
    }
    assert stats["totals"]["callCount"] == 0
