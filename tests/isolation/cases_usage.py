"""Isolation cases: the usage aggregates.

B aggregates over the day around A's calls, unfiltered, narrowed to A's user
and session, and grouped by every dimension that would name A's values: the
answers must count nothing and must read like a filter of ids that do not exist.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.isolation.probe import Probe, case

GROUPINGS = ("MODEL", "ENVIRONMENT", "USER", "SESSION", "ERROR_TYPE", "TAG")


def _window(**narrowing: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1)).isoformat(),
        **narrowing,
    }


def _narrowed_windows(probe: Probe) -> list[dict[str, Any]]:
    t = probe.tenants
    return [
        _window(),
        _window(users=[t.user_id]),
        _window(sessions=[t.session_id]),
    ]


@case("Query.usageSummary")
async def _usage_summary(probe: Probe) -> None:
    query = (
        "query Q($f: UsageFilterInput!) { usageSummary(filter: $f) { calls errors "
        "totalTokens costUsd unpricedCalls latencyP50Ms distinctUsers distinctSessions } }"
    )
    for window in _narrowed_windows(probe):
        body = await probe.ask(query, {"f": window}, key=probe.tenants.b.reader)
        summary = body["data"]["usageSummary"]
        assert summary["calls"] == 0
        assert summary["totalTokens"] == 0
        assert summary["distinctUsers"] == 0
    t = probe.tenants
    await probe.like_missing(
        query, {"f": _window(users=[t.user_id])}, t.user_id, key=t.b.reader
    )


@case("Query.usageBreakdown")
async def _usage_breakdown(probe: Probe) -> None:
    for group_by in GROUPINGS:
        body = await probe.ask(
            "query Q($f: UsageFilterInput!, $g: [UsageDimension!]!) { "
            "usageBreakdown(filter: $f, groupBy: $g, limit: 100) "
            "{ groups { group { value } calls } total { calls } } }",
            {"f": _window(), "g": [group_by]},
            key=probe.tenants.b.reader,
        )
        breakdown = body["data"]["usageBreakdown"]
        assert breakdown["groups"] == []
        assert breakdown["total"]["calls"] == 0
    body = await probe.ask(
        "query Q($f: UsageFilterInput!) { usageBreakdown(filter: $f, "
        'groupBy: [METADATA], metadataKey: "note") { groups { group { value } } } }',
        {"f": _window()},
        key=probe.tenants.b.reader,
    )
    assert body["data"]["usageBreakdown"]["groups"] == []


@case("Query.usageTimeSeries")
async def _usage_time_series(probe: Probe) -> None:
    for group_by in (None, "MODEL", "USER"):
        body = await probe.ask(
            "query Q($f: UsageFilterInput!, $g: [UsageDimension!]) { "
            'usageTimeSeries(filter: $f, granularity: HOUR, timeZone: "UTC", '
            "groupBy: $g) { series { group { value } points { calls costUsd } } } }",
            {"f": _window(), "g": [group_by] if group_by else None},
            key=probe.tenants.b.reader,
        )
        series = body["data"]["usageTimeSeries"]["series"]
        if group_by is not None:
            assert series == [], "B has no group to show"
            continue
        (all_calls,) = series
        assert len(all_calls["points"]) >= 48, "empty buckets are answered with zeros"
        assert all(point["calls"] == 0 for point in all_calls["points"])


@case("Query.errorBreakdown")
async def _error_breakdown(probe: Probe) -> None:
    for window in _narrowed_windows(probe):
        body = await probe.ask(
            "query Q($f: UsageFilterInput!) { errorBreakdown(filter: $f) "
            "{ calls errors groups { errorType latestCallId } } }",
            {"f": window},
            key=probe.tenants.b.reader,
        )
        assert body["data"]["errorBreakdown"] == {
            "calls": 0,
            "errors": 0,
            "groups": [],
        }
