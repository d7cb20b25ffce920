"""Usage queries refuse bad arguments with a coded error and stay in their project."""

from typing import Any

import httpx
import pytest

from tests.factories import TestProject, gql

SUMMARY = """
query Summary($filter: UsageFilterInput!) { usageSummary(filter: $filter) { calls } }
"""
BREAKDOWN = """
query Breakdown(
  $filter: UsageFilterInput!, $groupBy: [UsageDimension!]!, $key: String, $limit: Int!
) {
  usageBreakdown(filter: $filter, groupBy: $groupBy, metadataKey: $key, limit: $limit) {
    groups { calls }
  }
}
"""
SERIES = """
query Series($filter: UsageFilterInput!, $granularity: Granularity!, $zone: String!) {
  usageTimeSeries(filter: $filter, granularity: $granularity, timeZone: $zone) {
    series { points { calls } }
  }
}
"""
ERRORS = """
query Errors($filter: UsageFilterInput!, $limit: Int!) {
  errorBreakdown(filter: $filter, limit: $limit) { errors }
}
"""
JANUARY = {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("query", "variables", "field", "words"),
    [
        (
            SUMMARY,
            {
                "filter": {
                    "start": "2020-01-01T00:00:00Z",
                    "end": "2026-01-01T00:00:00Z",
                }
            },
            "filter.start",
            "at most 731 days",
        ),
        (
            SUMMARY,
            {
                "filter": {
                    "start": "2026-02-01T00:00:00Z",
                    "end": "2026-01-01T00:00:00Z",
                }
            },
            "filter.start",
            "swap them",
        ),
        (
            SUMMARY,
            {"filter": {"start": "2026-01-01T00:00:00", "end": "2026-02-01T00:00:00Z"}},
            "filter.start",
            "needs a time zone",
        ),
        (
            SUMMARY,
            {"filter": JANUARY | {"providers": [f"p{n}" for n in range(101)]}},
            "filter.providers",
            "at most 100 values",
        ),
        (
            SUMMARY,
            {"filter": JANUARY | {"metadata": [{"key": "team", "value": {"$ne": 1}}]}},
            "filter.metadata",
            "string, number or boolean",
        ),
        (
            SUMMARY,
            {"filter": JANUARY | {"metadata": [{"key": "$where", "value": "x"}]}},
            "filter.metadata",
            "cannot be filtered on",
        ),
        (
            BREAKDOWN,
            {"filter": JANUARY, "groupBy": ["METADATA"], "key": None, "limit": 5},
            "metadataKey",
            "exactly when groupBy includes METADATA",
        ),
        (
            BREAKDOWN,
            {"filter": JANUARY, "groupBy": ["METADATA"], "key": "a.b", "limit": 5},
            "metadataKey",
            "cannot be filtered on",
        ),
        (
            BREAKDOWN,
            {"filter": JANUARY, "groupBy": [], "key": None, "limit": 5},
            "groupBy",
            "at least one dimension",
        ),
        (
            BREAKDOWN,
            {"filter": JANUARY, "groupBy": ["MODEL", "MODEL"], "key": None, "limit": 5},
            "groupBy",
            "names a dimension twice",
        ),
        (
            BREAKDOWN,
            {"filter": JANUARY, "groupBy": ["MODEL"], "key": None, "limit": 0},
            "limit",
            "between 1 and 1000",
        ),
        (ERRORS, {"filter": JANUARY, "limit": 1001}, "limit", "between 1 and 1000"),
        (
            SERIES,
            {
                "filter": JANUARY | {"end": "2026-03-01T00:00:00Z"},
                "granularity": "HOUR",
                "zone": "UTC",
            },
            None,
            "use DAY granularity",
        ),
        (
            SERIES,
            {"filter": JANUARY, "granularity": "DAY", "zone": "Mars/Olympus"},
            None,
            "unknown time zone",
        ),
    ],
)
async def test_bad_arguments_are_invalid_input_saying_how_to_fix_them(
    client: httpx.AsyncClient,
    project: TestProject,
    query: str,
    variables: dict[str, Any],
    field: str | None,
    words: str,
) -> None:
    result = await gql(client, query, variables, key=project.reader)

    assert result.data is None
    assert result.error_codes() == ["INVALID_INPUT"]
    (error,) = result.errors
    assert words in error["message"]
    assert error["extensions"].get("field") == field


async def test_usage_needs_a_key_with_the_read_scope(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    variables = {"filter": JANUARY}

    ingest_only = await gql(client, SUMMARY, variables, key=project.ingest)
    anonymous = await gql(client, SUMMARY, variables, key=None)

    assert ingest_only.error_codes() == ["FORBIDDEN"]
    assert anonymous.status_code == 401


async def test_usage_counts_only_the_calling_projects_calls(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    record = "mutation R($input: LogCallInput!) { logCall(input: $input) { id } }"
    call = {
        "provider": "openai",
        "model": "gpt-4o",
        "timestamp": "2026-01-10T10:00:00Z",
        "userId": "u1",
    }
    await gql(client, record, {"input": call}, key=other_project.ingest)

    mine = await gql(client, SUMMARY, {"filter": JANUARY}, key=project.reader)
    theirs = await gql(client, SUMMARY, {"filter": JANUARY}, key=other_project.reader)
    users = await gql(
        client,
        SUMMARY.replace("calls", "calls distinctUsers"),
        {"filter": JANUARY | {"users": ["u1"]}},
        key=project.reader,
    )

    assert mine.data == {"usageSummary": {"calls": 0}}
    assert theirs.data == {"usageSummary": {"calls": 1}}
    assert users.data == {"usageSummary": {"calls": 0, "distinctUsers": 0}}
