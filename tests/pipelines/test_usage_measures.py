"""Summaries from roll-ups and from raw rows: the same measures, the same rules."""

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from pymongo import UpdateOne

from app.documents.log import Log
from app.pipelines.histogram import (
    GROWTH,
    LOWEST_MS,
    bucket_index,
    bucket_value,
    counts_of,
    percentiles,
)
from app.pipelines.rollup import rollup_updates
from app.pipelines.usage_measures import (
    UsageSummary,
    UsageTotals,
    summarize,
    total_of,
)
from app.pipelines.usage_rows import (
    Grouping,
    rollup_records,
    rows_from_raw,
    rows_from_rollups,
)
from tests.pipelines.logs import TEN_AM
from tests.pipelines.logs import make_log as base_log


def make_log(**overrides: Any) -> Log:
    return base_log(**({"status_code": 200} | overrides))


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


def rollups_of(*batches: tuple[list[Log], int]) -> list[dict[str, Any]]:
    """Roll-up documents as stored after applying each batch with its sign."""
    store: dict[str, dict[str, Any]] = {}
    for logs, sign in batches:
        apply_updates(rollup_updates(logs, sign=sign), store)
    return list(store.values())


def summary_of(documents: list[dict[str, Any]]) -> UsageSummary:
    rows = rows_from_rollups(rollup_records(documents, time_field="hour"), Grouping())
    return summarize(total_of(row.totals for row in rows))


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


def test_summary_from_rollups_sums_counts_tokens_costs_and_histograms() -> None:
    documents = rollups_of((sample_logs(), 1))

    assert len(documents) == 3
    assert summary_of(documents) == SAMPLE_SUMMARY


def test_summary_from_raw_rows_reads_sums_and_bucket_pairs() -> None:
    def pair(
        latency_ms: float | None, ttft_ms: float | None, calls: int = 1
    ) -> dict[str, Any]:
        return {
            # The server's `$ceil` yields doubles.
            "lat": float(bucket_index(latency_ms)) if latency_ms is not None else None,
            "ttft": float(bucket_index(ttft_ms)) if ttft_ms is not None else None,
            "calls": calls,
        }

    result = {
        "_id": {},
        "call_count": 4,
        "error_count": 1,
        "prompt_tokens": 160,
        "completion_tokens": 60,
        "total_tokens": 220,
        "cached_prompt_tokens": 40,
        "cache_write_tokens": 5,
        "reasoning_tokens": 10,
        "priced_count": 3,
        "unpriced_count": 1,
        "duration_count": 4,
        "ttft_count": 2,
        "cost_usd": 1.0,
        "duration_ms_sum": 3480.0,
        "duration_max": 2000.0,
        "latest_error": None,
        "buckets": [
            pair(1000.0, 150.0),
            pair(2000.0, 300.0),
            pair(80.0, None),
            pair(400.0, None),
        ],
    }

    (row,) = rows_from_raw([result], Grouping())

    assert row.group == ()
    assert row.slot is None
    assert summarize(row.totals) == SAMPLE_SUMMARY


def test_an_empty_set_summarizes_to_zeros_and_nulls() -> None:
    empty = UsageSummary()

    assert summarize(UsageTotals()) == empty
    assert summary_of([]) == empty
    assert empty.error_rate is None
    assert empty.cost_usd is None
    assert empty.latency_p50_ms is None


def test_percentiles_are_left_null_unless_asked_for() -> None:
    totals = total_of(
        row.totals
        for row in rows_from_rollups(
            rollup_records(rollups_of((sample_logs(), 1)), time_field="hour"),
            Grouping(),
        )
    )

    summary = summarize(totals, with_percentiles=False)

    assert summary.latency_p50_ms is None
    assert summary.ttft_p95_ms is None
    assert summary.latency_avg_ms == 870.0
    assert summary.latency_max_ms == 2000.0


def test_cost_is_null_when_no_call_is_priced() -> None:
    summary = summary_of(rollups_of(([make_log(duration_ms=5.0)], 1)))

    assert summary.calls == 1
    assert summary.unpriced_calls == 1
    assert summary.cost_usd is None
    assert summary.avg_cost_usd is None


def test_percentiles_are_capped_at_the_maximum_latency() -> None:
    just_above_an_edge = LOWEST_MS * GROWTH**300 * 1.000001
    assert at(just_above_an_edge) > just_above_an_edge

    summary = summary_of(rollups_of(([make_log(duration_ms=just_above_an_edge)], 1)))

    assert summary.latency_p50_ms == just_above_an_edge
    assert summary.latency_p99_ms == just_above_an_edge


def test_removed_calls_leave_the_summary_of_the_rest_with_max_as_upper_bound() -> None:
    logs = sample_logs()
    removed = logs[1]
    kept = [log for log in logs if log is not removed]

    after_removal = summary_of(rollups_of((logs, 1), ([removed], -1)))
    only_kept = summary_of(rollups_of((kept, 1)))

    tails = {"latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms"}
    assert after_removal.model_dump(exclude=tails) == only_kept.model_dump(
        exclude=tails
    )
    assert after_removal.latency_max_ms == 2000.0
    assert after_removal.latency_p99_ms == at(1000.0)


def test_a_removal_of_every_latency_leaves_no_maximum() -> None:
    logs = [make_log(duration_ms=30.0)]

    summary = summary_of(rollups_of((logs, 1), (logs, -1)))

    assert summary.calls == 0
    assert summary.latency_max_ms is None
    assert summary.latency_p50_ms is None


def test_percentiles_read_several_ranks_in_one_pass() -> None:
    histogram = {
        int(index): count
        for index, count in counts_of(float(value) for value in range(1, 101)).items()
    }

    found = percentiles(histogram, [99.0, 50.0, 90.0])

    assert found == {50.0: at(50.0), 90.0: at(90.0), 99.0: at(99.0)}


def test_percentiles_ignore_buckets_removals_took_below_zero() -> None:
    histogram = {bucket_index(10.0): 2, bucket_index(20.0): 0, bucket_index(30.0): -1}

    assert percentiles(histogram, [100.0]) == {100.0: at(10.0)}
    assert percentiles({}, [50.0]) == {50.0: None}


def test_totals_add_counters_maxima_and_histograms() -> None:
    first = UsageTotals.of(
        {
            "call_count": 2,
            "duration_max": 10.0,
            "latest_error": "2025-06-01T10:00:00.000Z|a",
            "latency_hist": {"5": 2},
        }
    )
    second = UsageTotals.of(
        {
            "call_count": 1,
            "cost_usd": 0.5,
            "duration_max": 30.0,
            "latest_error": "2025-06-01T09:00:00.000Z|b",
            "latency_hist": {"5": 1, "9": 1},
        }
    )

    first.add(second)

    assert first.calls == 3
    assert first.counters["cost_usd"] == 0.5
    assert first.duration_max == 30.0
    assert first.latest_error == "2025-06-01T10:00:00.000Z|a"
    assert first.latency_hist == {5: 3, 9: 1}
