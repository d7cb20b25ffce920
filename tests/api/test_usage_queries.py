"""Usage aggregates through GraphQL, from roll-ups and from raw calls alike.

The dataset (`tests/usage_reference.py`) is recorded once through `logCall`.
Every test runs twice: against the normal app, which reads roll-ups wherever
they cover the question, and against an app with `usage_force_raw`, which
answers everything from raw calls. Both must match the reference computation.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.factories import TestProject, gql, make_project
from tests.usage_reference import (
    CALLS,
    MEASURE_FIELDS,
    RANGE_END,
    RANGE_START,
    assert_measures,
    select,
)

LOG_CALL = "mutation Record($input: LogCallInput!) { logCall(input: $input) { id } }"


@dataclass(frozen=True)
class Source:
    """One way of answering: the client to ask, and whether it reads roll-ups."""

    name: str
    client: httpx.AsyncClient
    reader: str


@pytest.fixture(scope="module")
async def dataset(app: Starlette, client: httpx.AsyncClient) -> TestProject:
    project = await make_project()
    for call in CALLS:
        result = await gql(
            client, LOG_CALL, {"input": call.mutation_input()}, key=project.ingest
        )
        assert result.errors == [], result.errors
    return project


@pytest.fixture(scope="module")
async def raw_client(
    app: Starlette, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    # The session app already connected the documents to the store; this app
    # shares that connection and differs only in reading raw calls.
    raw_app = create_app(settings.model_copy(update={"usage_force_raw": True}))
    transport = httpx.ASGITransport(app=raw_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(params=["rollups", "raw"])
def source(
    request: pytest.FixtureRequest,
    client: httpx.AsyncClient,
    raw_client: httpx.AsyncClient,
    dataset: TestProject,
) -> Source:
    chosen = client if request.param == "rollups" else raw_client
    return Source(request.param, chosen, dataset.reader)


def window(start: datetime = RANGE_START, end: datetime = RANGE_END) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


async def ask(source: Source, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = await gql(source.client, query, variables, key=source.reader)
    assert result.errors == [], result.errors
    assert result.data is not None
    return result.data


SUMMARY = f"""
query Summary($filter: UsageFilterInput!) {{
  usageSummary(filter: $filter) {{ {MEASURE_FIELDS} distinctUsers distinctSessions }}
}}
"""


async def test_summary_of_the_whole_range_matches_the_reference(source: Source) -> None:
    data = await ask(source, SUMMARY, {"filter": window()})

    summary = data["usageSummary"]
    assert_measures(summary, list(CALLS))
    # A few answers written out, so the reference cannot be wrong unnoticed.
    assert summary["calls"] == 12
    assert summary["errors"] == 4
    assert summary["unpricedCalls"] == 5
    assert summary["costUsd"] == 3.4375
    assert summary["latencyMaxMs"] == 3000.0
    assert summary["distinctUsers"] == 4
    assert summary["distinctSessions"] == 3


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # Partial hours at both ends: roll-ups in between, raw calls at the edges.
        ("2025-03-28T09:30:00Z", "2025-04-01T10:45:00Z"),
        # Within one hour: raw calls only.
        ("2025-03-28T09:00:00Z", "2025-03-28T09:40:00Z"),
        # Whole hours that are not whole days.
        ("2025-03-28T10:00:00Z", "2025-03-30T22:00:00Z"),
        # An empty range and one with no calls.
        ("2025-03-30T00:00:00Z", "2025-03-30T00:00:00Z"),
        ("2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"),
    ],
)
async def test_summary_of_any_range_counts_exactly_the_calls_inside_it(
    source: Source, start: str, end: str
) -> None:
    start_at = datetime.fromisoformat(start.replace("Z", "+00:00"))
    end_at = datetime.fromisoformat(end.replace("Z", "+00:00"))

    data = await ask(source, SUMMARY, {"filter": window(start_at, end_at)})

    assert_measures(data["usageSummary"], select(CALLS, start=start_at, end=end_at))


@pytest.mark.parametrize(
    ("narrowing", "service_narrowing"),
    [
        ({"models": ["gpt-4o"]}, {"models": ["gpt-4o"]}),
        ({"providers": ["Anthropic"]}, {"providers": ["anthropic"]}),
        ({"environments": ["staging"]}, {"environments": ["staging"]}),
        ({"statuses": ["ERROR"]}, {"statuses": ["error"]}),
        ({"statusCodes": [429, 500]}, {"status_codes": [429, 500]}),
        ({"errorTypes": ["Timeout"]}, {"error_types": ["Timeout"]}),
        ({"users": ["ann", "cy"]}, {"users": ["ann", "cy"]}),
        ({"sessions": ["s1"]}, {"sessions": ["s1"]}),
        ({"tags": ["beta", "eu"]}, {"tags": ["beta", "eu"]}),
        (
            {"metadata": [{"key": "team", "value": "ads"}]},
            {"metadata": [("team", "ads")]},
        ),
        ({"costSources": ["UNPRICED"]}, {"cost_sources": ["unpriced"]}),
        (
            {"models": ["gpt-4o", "acme-1"], "statuses": ["SUCCESS"]},
            {"models": ["gpt-4o", "acme-1"], "statuses": ["success"]},
        ),
    ],
)
async def test_summary_narrowed_by_each_filter_field_matches_the_reference(
    source: Source, narrowing: dict[str, Any], service_narrowing: dict[str, Any]
) -> None:
    data = await ask(source, SUMMARY, {"filter": window() | narrowing})

    assert_measures(data["usageSummary"], select(CALLS, **service_narrowing))


BREAKDOWN = f"""
query Breakdown(
  $filter: UsageFilterInput!, $groupBy: [UsageDimension!]!, $key: String,
  $orderBy: UsageOrderBy!, $limit: Int!
) {{
  usageBreakdown(
    filter: $filter, groupBy: $groupBy, metadataKey: $key, orderBy: $orderBy,
    limit: $limit
  ) {{
    groupBy
    groups {{ group {{ dimension metadataKey value }} isOther {MEASURE_FIELDS} }}
    total {{ {MEASURE_FIELDS} }}
  }}
}}
"""


async def breakdown(
    source: Source,
    group_by: list[str],
    *,
    order_by: str = "CALLS",
    limit: int = 10,
    key: str | None = None,
    filter: dict[str, Any] | None = None,
) -> dict[str, Any]:
    variables = {
        "filter": filter or window(),
        "groupBy": group_by,
        "key": key,
        "orderBy": order_by,
        "limit": limit,
    }
    data = await ask(source, BREAKDOWN, variables)
    result: dict[str, Any] = data["usageBreakdown"]
    return result


def values(row: dict[str, Any]) -> list[str | None]:
    return [part["value"] for part in row["group"]]


async def test_breakdown_by_model_ranks_by_cost_and_sums_the_rest_as_other(
    source: Source,
) -> None:
    result = await breakdown(source, ["MODEL"], order_by="COST_USD", limit=2)

    rows = result["groups"]
    assert [values(row) for row in rows] == [["gpt-4o"], ["claude-sonnet-4"], [None]]
    assert [row["isOther"] for row in rows] == [False, False, True]
    assert_measures(rows[0], select(CALLS, models=["gpt-4o"]))
    assert_measures(rows[1], select(CALLS, models=["claude-sonnet-4"]))
    assert_measures(rows[2], select(CALLS, models=["acme-1", "gpt-4o-mini"]))
    assert_measures(result["total"], list(CALLS))
    assert sum(row["calls"] for row in rows) == result["total"]["calls"]


async def test_groups_without_a_value_of_the_order_measure_come_last(
    source: Source,
) -> None:
    # acme-1 has no priced call: its cost is null, not 0.
    result = await breakdown(source, ["MODEL"], order_by="COST_USD")

    assert [values(row) for row in result["groups"]] == [
        ["gpt-4o"],
        ["claude-sonnet-4"],
        ["gpt-4o-mini"],
        ["acme-1"],
    ]
    assert result["groups"][-1]["costUsd"] is None


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        (
            ["STATUS", "STATUS_CODE"],
            {
                ("success", "200"): {"statuses": ["success"]},
                ("error", "429"): {"status_codes": [429]},
                ("error", "500"): {"status_codes": [500]},
                ("error", None): {"error_types": ["Timeout"]},
            },
        ),
        (
            ["ERROR_TYPE"],
            {
                (None,): {"statuses": ["success"]},
                ("RateLimitError",): {"error_types": ["RateLimitError"]},
                ("InternalServerError",): {"error_types": ["InternalServerError"]},
                ("Timeout",): {"error_types": ["Timeout"]},
            },
        ),
        (
            ["PROVIDER", "ENVIRONMENT"],
            {
                ("openai", "production"): {
                    "providers": ["openai"],
                    "environments": ["production"],
                },
                ("anthropic", "production"): {"providers": ["anthropic"]},
                ("acme", "production"): {"providers": ["acme"]},
                ("openai", "staging"): {"environments": ["staging"]},
            },
        ),
    ],
)
async def test_breakdown_by_roll_up_dimensions_matches_the_reference(
    source: Source, group_by: list[str], expected: dict[tuple[Any, ...], Any]
) -> None:
    result = await breakdown(source, group_by)

    rows = {tuple(values(row)): row for row in result["groups"]}
    assert set(rows) == set(expected)
    for key, narrowing in expected.items():
        assert_measures(rows[key], select(CALLS, **narrowing))


async def test_breakdown_by_user_has_a_null_group_for_calls_without_one(
    source: Source,
) -> None:
    result = await breakdown(source, ["USER"], limit=3)

    # Ties (two calls each) are ordered by value, the null group first.
    rows = result["groups"]
    assert [values(row) for row in rows] == [["ann"], [None], ["bob"], [None]]
    assert_measures(rows[0], select(CALLS, users=["ann"]))
    assert_measures(rows[1], [call for call in CALLS if call.user is None])
    assert rows[1]["isOther"] is False
    assert_measures(rows[3], select(CALLS, users=["cy", "dee"]))
    assert rows[3]["isOther"] is True
    assert sum(row["calls"] for row in rows) == 12


async def test_breakdown_by_tag_counts_a_call_once_per_tag(source: Source) -> None:
    result = await breakdown(source, ["TAG"])

    rows = {tuple(values(row)): row for row in result["groups"]}
    assert set(rows) == {("beta",), ("eu",), (None,)}
    assert_measures(rows[("beta",)], select(CALLS, tags=["beta"]))
    assert_measures(rows[("eu",)], select(CALLS, tags=["eu"]))
    assert_measures(rows[(None,)], [call for call in CALLS if not call.tags])
    assert result["total"]["calls"] == 13


async def test_breakdown_by_a_metadata_key_and_session(source: Source) -> None:
    result = await breakdown(source, ["METADATA", "SESSION"], key="team")

    rows = {tuple(values(row)): row for row in result["groups"]}
    assert rows[("search", "s1")]["calls"] == 2
    assert rows[("ads", None)]["calls"] == 2
    assert_measures(
        rows[(None, None)],
        [call for call in CALLS if not call.metadata and call.session is None],
    )
    assert result["groups"][0]["group"][0] == {
        "dimension": "METADATA",
        "metadataKey": "team",
        "value": result["groups"][0]["group"][0]["value"],
    }


SERIES = f"""
query Series(
  $filter: UsageFilterInput!, $granularity: Granularity!, $zone: String!,
  $groupBy: [UsageDimension!], $limit: Int!
) {{
  usageTimeSeries(
    filter: $filter, granularity: $granularity, timeZone: $zone,
    groupBy: $groupBy, limit: $limit
  ) {{
    granularity timeZone
    series {{
      group {{ value }} isOther
      points {{ start end {MEASURE_FIELDS} }}
    }}
  }}
}}
"""


async def series(
    source: Source,
    granularity: str,
    zone: str,
    *,
    filter: dict[str, Any] | None = None,
    group_by: list[str] | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    variables = {
        "filter": filter or window(),
        "granularity": granularity,
        "zone": zone,
        "groupBy": group_by,
        "limit": limit,
    }
    data = await ask(source, SERIES, variables)
    result: list[dict[str, Any]] = data["usageTimeSeries"]["series"]
    return result


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_daily_series_in_paris_follows_local_midnight_across_the_clock_change(
    source: Source,
) -> None:
    (total,) = await series(source, "DAY", "Europe/Paris")

    points = total["points"]
    starts = [at(point["start"]) for point in points]
    assert starts == [
        datetime(2025, 3, 27, 23, tzinfo=UTC),  # contains the range start
        datetime(2025, 3, 28, 23, tzinfo=UTC),
        datetime(2025, 3, 29, 23, tzinfo=UTC),  # the 23-hour day
        datetime(2025, 3, 30, 22, tzinfo=UTC),
        datetime(2025, 3, 31, 22, tzinfo=UTC),
        datetime(2025, 4, 1, 22, tzinfo=UTC),
    ]
    assert at(points[2]["end"]) - at(points[2]["start"]) == timedelta(hours=23)
    assert [point["calls"] for point in points] == [3, 4, 3, 0, 2, 0]
    for point in points:
        inside = select(
            CALLS,
            start=max(at(point["start"]), RANGE_START),
            end=min(at(point["end"]), RANGE_END),
        )
        assert_measures(point, inside)


async def test_daily_series_in_utc_has_a_zero_point_for_the_empty_day(
    source: Source,
) -> None:
    (total,) = await series(source, "DAY", "UTC")

    points = total["points"]
    assert [point["calls"] for point in points] == [4, 4, 2, 0, 2]
    empty = points[3]
    assert empty["start"] == "2025-03-31T00:00:00+00:00"
    assert_measures(empty, [])
    assert empty["costUsd"] is None
    assert empty["errorRate"] is None


async def test_hourly_series_across_the_clock_change_has_every_hour(
    source: Source,
) -> None:
    day = {"start": "2025-03-29T23:00:00Z", "end": "2025-03-30T22:00:00Z"}

    (total,) = await series(source, "HOUR", "Europe/Paris", filter=day)

    points = total["points"]
    assert len(points) == 23
    assert [point["calls"] for point in points if point["calls"]] == [1, 2]
    assert points[0]["calls"] == 1
    assert points[22]["calls"] == 2


async def test_minute_series_of_a_partial_hour(source: Source) -> None:
    minutes = {"start": "2025-03-29T12:29:00Z", "end": "2025-03-29T12:33:00Z"}

    (total,) = await series(source, "MINUTE", "UTC", filter=minutes)

    assert [point["calls"] for point in total["points"]] == [0, 1, 1, 0]
    assert_measures(
        total["points"][2],
        select(CALLS, start=at("2025-03-29T12:31:00Z"), end=at("2025-03-29T12:32:00Z")),
    )


async def test_series_in_a_half_hour_zone_reads_raw_calls_and_stays_exact(
    source: Source,
) -> None:
    (total,) = await series(source, "DAY", "Asia/Kolkata")

    for point in total["points"]:
        inside = select(
            CALLS,
            start=max(at(point["start"]), RANGE_START),
            end=min(at(point["end"]), RANGE_END),
        )
        assert_measures(point, inside)
    assert sum(point["calls"] for point in total["points"]) == 12


async def test_series_grouped_by_model_keeps_the_top_groups_and_sums_the_rest(
    source: Source,
) -> None:
    grouped = await series(source, "DAY", "UTC", group_by=["MODEL"], limit=1)

    assert [(one["group"], one["isOther"]) for one in grouped] == [
        ([{"value": "gpt-4o"}], False),
        ([{"value": None}], True),
    ]
    assert [point["calls"] for point in grouped[0]["points"]] == [3, 1, 2, 0, 1]
    assert [point["calls"] for point in grouped[1]["points"]] == [1, 3, 0, 0, 1]
    for one, models in (
        (grouped[0], ["gpt-4o"]),
        (grouped[1], ["claude-sonnet-4", "acme-1", "gpt-4o-mini"]),
    ):
        for point in one["points"]:
            inside = select(
                CALLS, start=at(point["start"]), end=at(point["end"]), models=models
            )
            assert_measures(point, inside)


ERRORS = """
query Errors($filter: UsageFilterInput!, $limit: Int!) {
  errorBreakdown(filter: $filter, limit: $limit) {
    calls errors
    groups {
      statusCode errorType errors shareOfErrors shareOfCalls latestCallId
      latestAt isOther
    }
  }
}
"""


async def test_error_breakdown_groups_errors_with_shares_and_the_latest_example(
    source: Source,
) -> None:
    data = await ask(source, ERRORS, {"filter": window(), "limit": 2})

    errors = data["errorBreakdown"]
    assert errors["calls"] == 12
    assert errors["errors"] == 4
    assert errors["groups"] == [
        {
            "statusCode": 429,
            "errorType": "RateLimitError",
            "errors": 2,
            "shareOfErrors": 0.5,
            "shareOfCalls": 2 / 12,
            "latestCallId": "c11",
            "latestAt": "2025-04-01T10:40:00+00:00",
            "isOther": False,
        },
        {
            # Ties are ordered by value, a missing status code first.
            "statusCode": None,
            "errorType": "Timeout",
            "errors": 1,
            "shareOfErrors": 0.25,
            "shareOfCalls": 1 / 12,
            "latestCallId": "c09",
            "latestAt": "2025-03-30T21:30:00+00:00",
            "isOther": False,
        },
        {
            "statusCode": None,
            "errorType": None,
            "errors": 1,
            "shareOfErrors": 0.25,
            "shareOfCalls": 1 / 12,
            "latestCallId": "c07",
            "latestAt": "2025-03-29T12:31:00+00:00",
            "isOther": True,
        },
    ]


async def test_error_breakdown_of_a_narrowed_range(source: Source) -> None:
    narrowed = window(RANGE_START, datetime(2025, 3, 29, tzinfo=UTC))

    data = await ask(source, ERRORS, {"filter": narrowed, "limit": 10})

    assert data["errorBreakdown"]["groups"] == [
        {
            "statusCode": 429,
            "errorType": "RateLimitError",
            "errors": 1,
            "shareOfErrors": 1.0,
            "shareOfCalls": 0.25,
            "latestCallId": "c04",
            "latestAt": "2025-03-28T23:59:59+00:00",
            "isOther": False,
        }
    ]


LOGS = """
query Logs($filter: LogFilterInput) {
  logs(filter: $filter, pagination: {first: 100}) { totalCount items { id } }
}
"""

LOG_NARROWINGS = [
    ({"models": ["gpt-4o"]}, {"models": ["gpt-4o"]}),
    ({"statusCodes": [429, 500]}, {"status_codes": [429, 500]}),
    ({"errorTypes": ["Timeout"]}, {"error_types": ["Timeout"]}),
    ({"users": ["ann", "cy"]}, {"users": ["ann", "cy"]}),
    ({"sessions": ["s1", "s3"]}, {"sessions": ["s1", "s3"]}),
    ({"tags": ["beta", "eu"]}, {"tags": ["beta", "eu"]}),
    (
        {"metadata": [{"key": "team", "value": "search"}, {"key": "tier", "value": 2}]},
        {"metadata": [("team", "search"), ("tier", 2)]},
    ),
    ({"costSources": ["REPORTED"]}, {"cost_sources": ["reported"]}),
    ({"userId": "ann", "users": ["ann", "bob"]}, {"users": ["ann"]}),
    ({"userId": "ann", "users": ["bob"]}, {"users": []}),
]


@pytest.mark.parametrize(("narrowing", "service_narrowing"), LOG_NARROWINGS)
async def test_logs_accept_the_usage_narrowing(
    client: httpx.AsyncClient,
    dataset: TestProject,
    narrowing: dict[str, Any],
    service_narrowing: dict[str, Any],
) -> None:
    result = await gql(
        client, LOGS, {"filter": window() | narrowing}, key=dataset.reader
    )

    assert result.errors == []
    assert result.data is not None
    expected = select(CALLS, **service_narrowing)
    logs = result.data["logs"]
    assert logs["totalCount"] == len(expected)
    assert {item["id"] for item in logs["items"]} == {call.id for call in expected}


def readme_dashboard_request() -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    after_marker = readme.split("<!-- dashboard-request -->", 1)[1]
    return after_marker.split("```graphql", 1)[1].split("```", 1)[0]


async def test_the_readme_dashboard_request_answers_every_view_consistently(
    source: Source,
) -> None:
    variables = {
        "window": window(),
        "trend": window(datetime(2025, 3, 29, tzinfo=UTC), RANGE_END),
    }

    data = await ask(source, readme_dashboard_request(), variables)

    totals = data["totals"]
    assert totals["calls"] == 12
    assert totals["costUsd"] == 3.4375
    trend = data["trend"]["series"][0]["points"]
    assert [point["calls"] for point in trend] == [4, 2, 0, 2]
    assert [point["errors"] for point in trend] == [1, 1, 0, 1]
    latency = data["latencyTrend"]["series"][0]["points"]
    assert sum(1 for point in latency if point["latencyAvgMs"] is not None) == 4
    assert data["errors"]["errors"] == totals["errors"]
    assert sum(group["errors"] for group in data["errors"]["groups"]) == 4
    for alias in ("topModels", "costByModel", "byProvider"):
        groups = data[alias]["groups"]
        assert sum(group.get("calls", 0) for group in groups) in (0, 12)
    top = data["topModels"]["groups"]
    assert [group["group"][0]["value"] for group in top][:2] == ["gpt-4o", "acme-1"]
    cost = data["costByModel"]["groups"]
    assert sum(group["costUsd"] or 0 for group in cost) == 3.4375
