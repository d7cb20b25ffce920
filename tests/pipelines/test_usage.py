import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo import UpdateOne

from app.documents.log import Log
from app.documents.rollup import UsageRollup
from app.errors import InvalidInput
from app.pipelines.histogram import (
    GROWTH,
    LOWEST_MS,
    OVERFLOW_INDEX,
    TOP_MS,
    bucket_index,
    bucket_value,
    counts_of,
)
from app.pipelines.rollup import rollup_updates
from app.pipelines.usage import (
    UsageFilter,
    UsageSummary,
    covered_by_rollups,
    raw_match_stage,
    rollup_match_stage,
    summary_from_raw_pipeline,
    summary_from_raw_result,
    summary_from_rollups,
)

START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2025, 6, 8, tzinfo=UTC)
TEN_AM = datetime(2025, 6, 1, 10, tzinfo=UTC)


def usage_filter(**overrides: Any) -> UsageFilter:
    fields: dict[str, Any] = {"project_id": "p1", "start": START, "end": END}
    return UsageFilter(**(fields | overrides))


def make_log(**overrides: Any) -> Log:
    fields: dict[str, Any] = {
        "id": "p1:call",
        "call_id": "call",
        "project_id": "p1",
        "timestamp": TEN_AM,
        "received_at": TEN_AM,
        "provider": "openai",
        "model": "gpt-4o",
        "status_code": 200,
    }
    # Constructing without validation needs no `init_beanie`.
    log: Log = Log.model_construct(**(fields | overrides))
    return log


def apply_updates(
    updates: Iterable[UpdateOne], store: dict[str, dict[str, Any]]
) -> None:
    """Apply `$setOnInsert`, `$inc` (dotted paths) and `$max` as MongoDB would."""
    for update in updates:
        doc = update._doc
        assert isinstance(doc, Mapping)
        key = update._filter["_id"]
        stored = store.get(key)
        if stored is None:
            if not update._upsert:
                continue
            stored = store[key] = {"_id": key, **doc.get("$setOnInsert", {})}
        for path, amount in doc["$inc"].items():
            *parents, leaf = path.split(".")
            target = stored
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = target.get(leaf, 0) + amount
        for path, value in doc.get("$max", {}).items():
            if stored.get(path) is None or value > stored[path]:
                stored[path] = value


def rollups_of(*batches: tuple[list[Log], int]) -> list[UsageRollup]:
    store: dict[str, dict[str, Any]] = {}
    for logs, sign in batches:
        apply_updates(rollup_updates(logs, sign=sign), store)
    return [UsageRollup.model_construct(**doc) for doc in store.values()]


def sample_logs() -> list[Log]:
    return [
        make_log(
            prompt_tokens=100,
            completion_tokens=20,
            total_tokens=120,
            cached_prompt_tokens=40,
            cost_usd=0.25,
            duration_ms=1000.0,
            time_to_first_token_ms=150.0,
        ),
        make_log(
            timestamp=TEN_AM + timedelta(minutes=20),
            prompt_tokens=50,
            completion_tokens=30,
            total_tokens=80,
            reasoning_tokens=10,
            cache_write_tokens=5,
            cost_usd=0.5,
            duration_ms=2000.0,
            time_to_first_token_ms=300.0,
        ),
        make_log(status="error", status_code=429, duration_ms=80.0),
        make_log(
            timestamp=TEN_AM + timedelta(hours=1),
            provider="anthropic",
            model="claude",
            prompt_tokens=10,
            completion_tokens=10,
            total_tokens=20,
            cost_usd=0.25,
            duration_ms=400.0,
        ),
    ]


def at(value_ms: float) -> float:
    return bucket_value(bucket_index(value_ms))


# Latencies 80, 400, 1000, 2000 ms: nearest ranks 2 (p50) and 4 (p90 and up),
# where the estimate is capped at the exact maximum.
SAMPLE_SUMMARY = UsageSummary(
    calls=4,
    successes=3,
    errors=1,
    error_rate=0.25,
    prompt_tokens=160,
    completion_tokens=60,
    total_tokens=220,
    cached_prompt_tokens=40,
    cache_write_tokens=5,
    reasoning_tokens=10,
    cost_usd=1.0,
    avg_cost_usd=1 / 3,
    priced_calls=3,
    unpriced_calls=1,
    latency_avg_ms=870.0,
    latency_p50_ms=at(400.0),
    latency_p90_ms=min(at(2000.0), 2000.0),
    latency_p95_ms=min(at(2000.0), 2000.0),
    latency_p99_ms=min(at(2000.0), 2000.0),
    latency_max_ms=2000.0,
    ttft_p50_ms=at(150.0),
    ttft_p95_ms=at(300.0),
)


def test_raw_match_stage_starts_with_project_and_time_range() -> None:
    stage = raw_match_stage(usage_filter())

    assert stage == {
        "$match": {"project_id": "p1", "timestamp": {"$gte": START, "$lt": END}}
    }
    assert list(stage["$match"]) == ["project_id", "timestamp"]


def test_raw_match_stage_adds_every_narrowing_after_project_and_time() -> None:
    stage = raw_match_stage(
        usage_filter(
            providers=("openai",),
            models=("gpt-4o", "gpt-4o-mini"),
            environments=("production",),
            statuses=("error",),
            status_codes=(429, 500),
            user_ids=("u1",),
            session_ids=("s1",),
            error_types=("rate_limit",),
            tags=("beta", "eu"),
            metadata=(("team", "search"), ("tier", 2), ("team", "ads")),
            cost_sources=("price_table", "custom"),
        )
    )

    assert stage == {
        "$match": {
            "project_id": "p1",
            "timestamp": {"$gte": START, "$lt": END},
            "provider": {"$in": ["openai"]},
            "model": {"$in": ["gpt-4o", "gpt-4o-mini"]},
            "environment": {"$in": ["production"]},
            "status": {"$in": ["error"]},
            "status_code": {"$in": [429, 500]},
            "user_id": {"$in": ["u1"]},
            "session_id": {"$in": ["s1"]},
            "error.type": {"$in": ["rate_limit"]},
            "tags": {"$all": ["beta", "eu"]},
            "metadata.team": {"$in": ["search", "ads"]},
            "metadata.tier": {"$in": [2]},
            "cost_source": {"$in": ["price_table", "custom"]},
        }
    }
    assert list(stage["$match"])[:2] == ["project_id", "timestamp"]


def test_a_filter_range_is_stored_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))

    converted = UsageFilter(
        project_id="p1",
        start=datetime(2025, 6, 1, 9, tzinfo=tokyo),
        end=datetime(2025, 6, 2, 9, tzinfo=tokyo),
    )

    assert converted.start == START
    assert converted.start.tzinfo is UTC
    assert converted.end.tzinfo is UTC


def test_a_naive_range_is_invalid_input() -> None:
    naive = START.replace(tzinfo=None)

    with pytest.raises(InvalidInput, match="UTC offset"):
        UsageFilter(project_id="p1", start=naive, end=END)


def test_a_reversed_range_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="swap start and end"):
        UsageFilter(project_id="p1", start=END, end=START)


@pytest.mark.parametrize("key", ["a.b", "$where", "", "nul\0"])
def test_metadata_keys_that_would_change_the_field_path_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be filtered on"):
        usage_filter(metadata=((key, "x"),))


def test_metadata_values_that_are_not_scalars_are_refused() -> None:
    operator: Any = {"$ne": None}

    with pytest.raises(InvalidInput, match="string, number or boolean"):
        usage_filter(metadata=(("team", operator),))


def test_roll_ups_cover_hour_aligned_filters_on_their_dimensions() -> None:
    narrowed = usage_filter(
        providers=("openai",),
        models=("gpt-4o",),
        environments=("production",),
        statuses=("success",),
        status_codes=(200,),
    )

    assert covered_by_rollups(usage_filter())
    assert covered_by_rollups(narrowed, ["model", "status_code"])


@pytest.mark.parametrize(
    "narrowing",
    [
        {"user_ids": ("u1",)},
        {"session_ids": ("s1",)},
        {"error_types": ("rate_limit",)},
        {"tags": ("beta",)},
        {"metadata": (("team", "search"),)},
        {"cost_sources": ("custom",)},
    ],
)
def test_roll_ups_do_not_cover_filters_on_other_fields(
    narrowing: dict[str, Any],
) -> None:
    assert not covered_by_rollups(usage_filter(**narrowing))


def test_roll_ups_do_not_cover_a_range_that_is_not_on_utc_hours() -> None:
    half_past = START + timedelta(minutes=30)

    assert not covered_by_rollups(usage_filter(start=half_past))
    assert not covered_by_rollups(usage_filter(end=END - timedelta(seconds=1)))


@pytest.mark.parametrize("name", ["user_id", "session_id", "tags", "operation"])
def test_roll_ups_do_not_cover_grouping_by_other_fields(name: str) -> None:
    assert not covered_by_rollups(usage_filter(), ["provider", name])


def test_roll_ups_cover_time_buckets_only_when_each_starts_on_a_utc_hour() -> None:
    paris_days = [
        datetime(2025, 5, 31, 22, tzinfo=UTC),
        datetime(2025, 6, 1, 22, tzinfo=UTC),
    ]
    kolkata_hours = [datetime(2025, 6, 1, 9, 30, tzinfo=UTC)]

    assert covered_by_rollups(usage_filter(), bucket_starts=paris_days)
    assert not covered_by_rollups(usage_filter(), bucket_starts=kolkata_hours)


def test_rollup_match_stage_selects_hours_and_dimensions() -> None:
    stage = rollup_match_stage(
        usage_filter(providers=("openai",), statuses=("error",), status_codes=(429,))
    )

    assert stage == {
        "$match": {
            "project_id": "p1",
            "hour": {"$gte": START, "$lt": END},
            "provider": {"$in": ["openai"]},
            "status": {"$in": ["error"]},
            "status_code": {"$in": [429]},
        }
    }


def test_rollup_match_stage_refuses_a_filter_roll_ups_cannot_answer() -> None:
    with pytest.raises(ValueError, match="needs raw calls"):
        rollup_match_stage(usage_filter(user_ids=("u1",)))


def test_summary_from_raw_pipeline_matches_then_facets_totals_and_histograms() -> None:
    def histogram_branch(field: str) -> list[dict[str, Any]]:
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
        return [
            {"$match": {field: {"$ne": None}}},
            {"$group": {"_id": bucket, "count": {"$sum": 1}}},
        ]

    is_priced = {"$isNumber": "$cost_usd"}

    pipeline = summary_from_raw_pipeline(usage_filter(user_ids=("u1",)))

    assert pipeline == [
        {
            "$match": {
                "project_id": "p1",
                "timestamp": {"$gte": START, "$lt": END},
                "user_id": {"$in": ["u1"]},
            }
        },
        {
            "$facet": {
                "totals": [
                    {
                        "$group": {
                            "_id": None,
                            "call_count": {"$sum": 1},
                            "error_count": {
                                "$sum": {"$cond": [{"$eq": ["$status", "error"]}, 1, 0]}
                            },
                            "prompt_tokens": {"$sum": "$prompt_tokens"},
                            "completion_tokens": {"$sum": "$completion_tokens"},
                            "total_tokens": {"$sum": "$total_tokens"},
                            "cached_prompt_tokens": {"$sum": "$cached_prompt_tokens"},
                            "cache_write_tokens": {"$sum": "$cache_write_tokens"},
                            "reasoning_tokens": {"$sum": "$reasoning_tokens"},
                            "cost_usd": {"$sum": "$cost_usd"},
                            "priced_count": {"$sum": {"$cond": [is_priced, 1, 0]}},
                            "unpriced_count": {"$sum": {"$cond": [is_priced, 0, 1]}},
                            "duration_ms_sum": {"$sum": "$duration_ms"},
                            "duration_count": {
                                "$sum": {"$cond": [{"$isNumber": "$duration_ms"}, 1, 0]}
                            },
                            "duration_max": {"$max": "$duration_ms"},
                        }
                    }
                ],
                "latency_hist": histogram_branch("duration_ms"),
                "ttft_hist": histogram_branch("time_to_first_token_ms"),
            }
        },
    ]


def test_summary_from_rollups_sums_counts_tokens_costs_and_histograms() -> None:
    rows = rollups_of((sample_logs(), 1))

    assert len(rows) == 3
    assert summary_from_rollups(rows) == SAMPLE_SUMMARY


def test_summary_from_raw_result_reads_the_facet_document() -> None:
    def bucket_rows(values: list[float]) -> list[dict[str, Any]]:
        # The server's `$ceil` yields doubles.
        return [
            {"_id": float(index), "count": count}
            for index, count in counts_of(values).items()
        ]

    result = {
        "totals": [
            {
                "_id": None,
                "call_count": 4,
                "error_count": 1,
                "prompt_tokens": 160,
                "completion_tokens": 60,
                "total_tokens": 220,
                "cached_prompt_tokens": 40,
                "cache_write_tokens": 5,
                "reasoning_tokens": 10,
                "cost_usd": 1.0,
                "priced_count": 3,
                "unpriced_count": 1,
                "duration_ms_sum": 3480.0,
                "duration_count": 4,
                "duration_max": 2000.0,
            }
        ],
        "latency_hist": bucket_rows([80.0, 400.0, 1000.0, 2000.0]),
        "ttft_hist": bucket_rows([150.0, 300.0]),
    }

    assert summary_from_raw_result(result) == SAMPLE_SUMMARY


def test_an_empty_range_summarizes_to_zeros_and_nulls() -> None:
    empty = UsageSummary()

    assert (
        summary_from_raw_result({"totals": [], "latency_hist": [], "ttft_hist": []})
        == empty
    )
    assert summary_from_rollups([]) == empty
    assert empty.error_rate is None
    assert empty.cost_usd is None
    assert empty.latency_p50_ms is None


def test_cost_is_null_when_no_call_is_priced() -> None:
    summary = summary_from_rollups(rollups_of(([make_log(duration_ms=5.0)], 1)))

    assert summary.calls == 1
    assert summary.unpriced_calls == 1
    assert summary.cost_usd is None
    assert summary.avg_cost_usd is None


def test_percentiles_are_capped_at_the_maximum_latency() -> None:
    just_above_an_edge = LOWEST_MS * GROWTH**300 * 1.000001
    assert at(just_above_an_edge) > just_above_an_edge

    logs = [make_log(duration_ms=just_above_an_edge)]
    summary = summary_from_rollups(rollups_of((logs, 1)))

    assert summary.latency_p50_ms == just_above_an_edge
    assert summary.latency_p99_ms == just_above_an_edge


def test_removed_calls_leave_the_summary_of_the_rest_with_max_as_upper_bound() -> None:
    logs = sample_logs()
    removed = logs[1]
    kept = [log for log in logs if log is not removed]

    after_removal = summary_from_rollups(rollups_of((logs, 1), ([removed], -1)))
    only_kept = summary_from_rollups(rollups_of((kept, 1)))

    tails = {"latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms"}
    assert after_removal.model_dump(exclude=tails) == only_kept.model_dump(
        exclude=tails
    )
    assert after_removal.latency_max_ms == 2000.0
    assert after_removal.latency_p99_ms == at(1000.0)
