import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InvalidInput
from app.pipelines.histogram import GROWTH, LOWEST_MS, OVERFLOW_INDEX, TOP_MS
from app.pipelines.usage import UsageFilter
from app.pipelines.usage_rows import (
    Grouping,
    UsageRow,
    fold,
    raw_rows_pipeline,
    rollup_records,
    rows_from_raw,
    rows_from_rollups,
)

START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2025, 6, 8, tzinfo=UTC)
MATCH = {"$match": {"project_id": "p1", "timestamp": {"$gte": START, "$lt": END}}}


def usage_filter(**overrides: Any) -> UsageFilter:
    fields: dict[str, Any] = {"project_id": "p1", "start": START, "end": END}
    return UsageFilter(**(fields | overrides))


def bucket_or_null(field: str) -> dict[str, Any]:
    path = f"${field}"
    bucket = {
        "$switch": {
            "branches": [
                {"case": {"$lte": [path, LOWEST_MS]}, "then": 0},
                {"case": {"$gt": [path, TOP_MS]}, "then": OVERFLOW_INDEX},
            ],
            "default": {
                "$ceil": {
                    "$divide": [
                        {"$ln": {"$divide": [path, LOWEST_MS]}},
                        math.log(GROWTH),
                    ]
                }
            },
        }
    }
    return {"$cond": [{"$isNumber": path}, bucket, None]}


def sums() -> dict[str, Any]:
    def count_if(condition: dict[str, Any]) -> dict[str, Any]:
        return {"$sum": {"$cond": [condition, 1, 0]}}

    is_error = {"$eq": ["$status", "error"]}
    is_priced = {"$isNumber": "$cost_usd"}
    newest_error = {
        "$concat": [
            {
                "$dateToString": {
                    "date": "$timestamp",
                    "format": "%Y-%m-%dT%H:%M:%S.%LZ",
                }
            },
            "|",
            "$call_id",
        ]
    }
    return {
        "call_count": {"$sum": 1},
        "error_count": count_if(is_error),
        "prompt_tokens": {"$sum": "$prompt_tokens"},
        "completion_tokens": {"$sum": "$completion_tokens"},
        "total_tokens": {"$sum": "$total_tokens"},
        "cached_prompt_tokens": {"$sum": "$cached_prompt_tokens"},
        "cache_write_tokens": {"$sum": "$cache_write_tokens"},
        "reasoning_tokens": {"$sum": "$reasoning_tokens"},
        "priced_count": count_if(is_priced),
        "unpriced_count": {"$sum": {"$cond": [is_priced, 0, 1]}},
        "duration_count": count_if({"$isNumber": "$duration_ms"}),
        "ttft_count": count_if({"$isNumber": "$time_to_first_token_ms"}),
        "cost_usd": {"$sum": "$cost_usd"},
        "duration_ms_sum": {"$sum": "$duration_ms"},
        "duration_max": {"$max": "$duration_ms"},
        "duration_min": {"$min": "$duration_ms"},
        "latest_error": {"$max": {"$cond": [is_error, newest_error, None]}},
    }


def test_raw_rows_without_histograms_group_once_by_dimensions_and_slot() -> None:
    pipeline = raw_rows_pipeline(
        usage_filter(),
        Grouping(("model", "error_type")),
        slot_ms=3_600_000,
        with_histograms=False,
    )

    slot = {
        "$subtract": ["$timestamp", {"$mod": [{"$toLong": "$timestamp"}, 3_600_000]}]
    }
    assert pipeline == [
        MATCH,
        {
            "$group": {
                "_id": {"g0": "$model", "g1": "$error.type", "slot": slot},
                **sums(),
            }
        },
    ]


def test_raw_rows_with_histograms_fold_bucket_pairs_per_group() -> None:
    pipeline = raw_rows_pipeline(usage_filter(), Grouping(("provider",)))

    folds = {"duration_max": "$max", "latest_error": "$max", "duration_min": "$min"}
    folded = {name: {folds.get(name, "$sum"): f"${name}"} for name in sums()}
    assert pipeline == [
        MATCH,
        {
            "$group": {
                "_id": {
                    "g0": "$provider",
                    "lat": bucket_or_null("duration_ms"),
                    "ttft": bucket_or_null("time_to_first_token_ms"),
                },
                **sums(),
            }
        },
        {
            "$group": {
                "_id": {"g0": "$_id.g0"},
                **folded,
                "buckets": {
                    "$push": {
                        "lat": "$_id.lat",
                        "ttft": "$_id.ttft",
                        "calls": "$call_count",
                    }
                },
            }
        },
    ]


def test_raw_rows_by_tag_unwind_keeping_untagged_calls() -> None:
    pipeline = raw_rows_pipeline(
        usage_filter(tags=("beta",)), Grouping(("tag",)), with_histograms=False
    )

    assert pipeline[0]["$match"]["tags"] == {"$all": ["beta"]}
    assert pipeline[1] == {
        "$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}
    }
    assert pipeline[2]["$group"]["_id"] == {"g0": "$tags"}


def test_raw_rows_by_metadata_read_the_key() -> None:
    pipeline = raw_rows_pipeline(
        usage_filter(),
        Grouping(("metadata", "user_id"), metadata_key="team"),
        with_histograms=False,
    )

    assert pipeline[1]["$group"]["_id"] == {"g0": "$metadata.team", "g1": "$user_id"}


def test_raw_rows_of_edges_match_only_the_edges() -> None:
    edges = [(START, START + timedelta(minutes=30))]

    pipeline = raw_rows_pipeline(usage_filter(), Grouping(), ranges=edges)

    assert pipeline[0] == {
        "$match": {
            "project_id": "p1",
            "timestamp": {"$gte": START, "$lt": START + timedelta(minutes=30)},
        }
    }


@pytest.mark.parametrize(
    ("dimensions", "key", "message"),
    [
        (("colour",), None, "not a usage dimension"),
        (("metadata",), None, "metadata key goes with"),
        (("model",), "team", "metadata key goes with"),
    ],
)
def test_a_grouping_refuses_unknown_dimensions_and_stray_keys(
    dimensions: tuple[str, ...], key: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Grouping(dimensions, key)


def test_a_grouping_refuses_a_metadata_key_that_changes_the_path() -> None:
    with pytest.raises(InvalidInput, match="cannot be filtered on"):
        Grouping(("metadata",), "a.b")


def test_rows_from_rollups_keep_the_grouped_dimensions_and_the_slot() -> None:
    document = {
        "project_id": "p1",
        # Naive, as a client that is not time-zone aware reads it.
        "hour": datetime(2025, 6, 1, 10, tzinfo=UTC).replace(tzinfo=None),
        "model": "gpt-4o",
        "status_code": 429,
        "call_count": 3,
        "latency_hist": {"12": 3},
    }

    (row,) = rows_from_rollups(
        rollup_records([document], time_field="hour"),
        Grouping(("status_code", "model")),
    )

    assert row.group == (429, "gpt-4o")
    assert row.slot == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert row.totals.calls == 3
    assert row.totals.latency_hist == {12: 3}


def test_rows_from_rollups_refuse_a_grouping_they_do_not_keep() -> None:
    with pytest.raises(ValueError, match="needs raw calls"):
        rows_from_rollups([], Grouping(("user_id",)))


def test_rows_from_raw_read_missing_group_values_as_null() -> None:
    results = [
        {
            "_id": {"g1": "s1", "slot": datetime(2025, 6, 1, 10, tzinfo=UTC)},
            "call_count": 2,
        },
        {"_id": {"g0": "u1", "g1": None}, "call_count": 1},
    ]

    rows = rows_from_raw(results, Grouping(("user_id", "session_id")))

    assert [(row.group, row.slot, row.totals.calls) for row in rows] == [
        ((None, "s1"), datetime(2025, 6, 1, 10, tzinfo=UTC), 2),
        (("u1", None), None, 1),
    ]


def test_fold_sums_rows_sharing_a_key_in_first_seen_order() -> None:
    rows = rows_from_raw(
        [
            {"_id": {"g0": "b"}, "call_count": 1},
            {"_id": {"g0": "a"}, "call_count": 2},
            {"_id": {"g0": "b"}, "call_count": 4},
        ],
        Grouping(("model",)),
    )

    folded = fold(rows, lambda row: row.group)

    assert [(key, totals.calls) for key, totals in folded.items()] == [
        (("b",), 5),
        (("a",), 2),
    ]
    assert all(isinstance(row, UsageRow) for row in rows)
