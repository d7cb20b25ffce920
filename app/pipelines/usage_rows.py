"""Usage rows: totals per group and time slot, from roll-ups or from raw calls.

Every usage question is answered by folding rows. A row is the totals of the
calls that share a group (the values of the dimensions grouped by) and a time
slot (a UTC hour or day for roll-ups; a slot of `slot_ms` for raw calls).
Roll-up documents are rows as stored; raw calls become rows on the server in
one aggregation (`raw_rows_pipeline`), with latencies bucketed there into the
same histogram, so both sources fold the same way.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.pipelines import Pipeline
from app.pipelines.histogram import bucket_index_expression
from app.pipelines.usage import (
    ROLLUP_DIMENSIONS,
    TimeRange,
    UsageFilter,
    check_metadata_key,
    raw_match_stage,
)
from app.pipelines.usage_measures import UsageTotals

type GroupValue = str | int | float | bool | None
type GroupKey = tuple[GroupValue, ...]

METADATA = "metadata"
TAG = "tag"

# Dimensions a question may group by, and the `llm_logs` field each one reads.
RAW_PATHS = {
    "provider": "provider",
    "model": "model",
    "environment": "environment",
    "status": "status",
    "status_code": "status_code",
    "error_type": "error.type",
    "user_id": "user_id",
    "session_id": "session_id",
    TAG: "tags",
}
DIMENSIONS = (*RAW_PATHS, METADATA)


@dataclass(frozen=True)
class Grouping:
    """The dimensions a question groups by, in order; `metadata_key` for METADATA."""

    dimensions: tuple[str, ...] = ()
    metadata_key: str | None = None

    def __post_init__(self) -> None:
        for name in self.dimensions:
            if name not in DIMENSIONS:
                raise ValueError(f"{name!r} is not a usage dimension")
        if (METADATA in self.dimensions) != (self.metadata_key is not None):
            raise ValueError("a metadata key goes with the METADATA dimension only")
        if self.metadata_key is not None:
            check_metadata_key(self.metadata_key)

    @property
    def in_rollups(self) -> bool:
        return all(name in ROLLUP_DIMENSIONS for name in self.dimensions)

    def raw_path(self, name: str) -> str:
        if name == METADATA:
            return f"metadata.{self.metadata_key}"
        return RAW_PATHS[name]


@dataclass(slots=True)
class UsageRow:
    """The totals of the calls of one group in one time slot (None: no slots)."""

    group: GroupKey
    slot: datetime | None
    totals: UsageTotals


# Grouping by nothing: one group holding every call.
NO_GROUPING = Grouping()


@dataclass(frozen=True, slots=True)
class RollupRecord:
    """A stored roll-up with its time slot and totals, converted once per read."""

    document: Mapping[str, Any]
    slot: datetime
    totals: UsageTotals


def rollup_records(
    documents: Iterable[Mapping[str, Any]],
    *,
    time_field: str,
    with_histograms: bool = True,
) -> list[RollupRecord]:
    """Roll-up documents with their totals read, for any number of groupings."""
    return [
        RollupRecord(
            document=document,
            slot=_utc(document[time_field]),
            totals=UsageTotals.of(document, with_histograms=with_histograms),
        )
        for document in documents
    ]


def rows_from_rollups(
    records: Iterable[RollupRecord], grouping: Grouping
) -> list[UsageRow]:
    """One row per roll-up, grouped by roll-up dimensions only.

    The rows share the records' totals: folding never changes a row's totals.

    Raises:
        ValueError: the grouping needs a dimension roll-ups do not keep.
    """
    if not grouping.in_rollups:
        raise ValueError("this grouping needs raw calls")
    names = grouping.dimensions
    return [
        UsageRow(
            group=tuple(record.document.get(name) for name in names),
            slot=record.slot,
            totals=record.totals,
        )
        for record in records
    ]


def raw_rows_pipeline(
    usage_filter: UsageFilter,
    grouping: Grouping,
    *,
    ranges: Sequence[TimeRange] | None = None,
    slot_ms: int | None = None,
    with_histograms: bool = True,
) -> Pipeline:
    """The pipeline over `llm_logs` whose results `rows_from_raw` reads.

    The first `$group` sums the calls per group, slot and (with histograms)
    pair of latency and time-to-first-token buckets, computed on the server by
    `bucket_index_expression`; the second folds the bucket pairs into a list
    per group and slot, so one row per group and slot crosses the wire. A slot
    is the instant `slot_ms` milliseconds divides, floored; `None` means one
    slot for the whole range. Grouping by TAG unwinds the tags first, so a call
    counts once per tag and untagged calls form the null tag.
    """
    stages: Pipeline = [raw_match_stage(usage_filter, ranges)]
    if TAG in grouping.dimensions:
        stages.append(
            {"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}}
        )

    key: dict[str, Any] = {
        f"g{position}": f"${grouping.raw_path(name)}"
        for position, name in enumerate(grouping.dimensions)
    }
    if slot_ms is not None:
        key["slot"] = {
            "$subtract": ["$timestamp", {"$mod": [{"$toLong": "$timestamp"}, slot_ms]}]
        }
    sums = _raw_sums()
    if not with_histograms:
        stages.append({"$group": {"_id": key, **sums}})
        return stages

    pair = key | {
        "lat": _bucket_or_null("duration_ms"),
        "ttft": _bucket_or_null("time_to_first_token_ms"),
    }
    folded = {name: {_FOLDS.get(name, "$sum"): f"${name}"} for name in sums}
    regroup = {f"{name}": f"$_id.{name}" for name in key}
    stages.append({"$group": {"_id": pair, **sums}})
    stages.append(
        {
            "$group": {
                "_id": regroup,
                **folded,
                "buckets": {
                    "$push": {
                        "lat": "$_id.lat",
                        "ttft": "$_id.ttft",
                        "calls": "$call_count",
                    }
                },
            }
        }
    )
    return stages


# How per-slot values fold into a group; every other value is summed.
_FOLDS = {"duration_max": "$max", "latest_error": "$max", "duration_min": "$min"}


def _raw_sums() -> dict[str, Any]:
    def count_if(condition: dict[str, Any]) -> dict[str, Any]:
        return {"$sum": {"$cond": [condition, 1, 0]}}

    is_error = {"$eq": ["$status", "error"]}
    is_priced = {"$isNumber": "$cost_usd"}
    sums: dict[str, Any] = {
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
        "latest_error": {
            "$max": {
                "$cond": [
                    is_error,
                    {
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
                    },
                    None,
                ]
            }
        },
    }
    return sums


def _bucket_or_null(field: str) -> dict[str, Any]:
    # Without the guard a missing latency would compare below LOWEST_MS and
    # land in bucket 0.
    return {
        "$cond": [
            {"$isNumber": f"${field}"},
            bucket_index_expression(f"${field}"),
            None,
        ]
    }


def rows_from_raw(
    results: Iterable[Mapping[str, Any]], grouping: Grouping
) -> list[UsageRow]:
    """Rows from the results of `raw_rows_pipeline` (with or without histograms)."""
    count = len(grouping.dimensions)
    rows = []
    for result in results:
        key = result.get("_id") or {}
        totals = UsageTotals.of(result, with_histograms=False)
        for pair in result.get("buckets", ()):
            calls = int(pair["calls"])
            if pair.get("lat") is not None:
                index = int(pair["lat"])
                totals.latency_hist[index] = totals.latency_hist.get(index, 0) + calls
            if pair.get("ttft") is not None:
                index = int(pair["ttft"])
                totals.ttft_hist[index] = totals.ttft_hist.get(index, 0) + calls
        slot = key.get("slot")
        rows.append(
            UsageRow(
                group=tuple(key.get(f"g{position}") for position in range(count)),
                slot=_utc(slot) if slot is not None else None,
                totals=totals,
            )
        )
    return rows


def fold[K](
    rows: Iterable[UsageRow], key: Callable[[UsageRow], K]
) -> dict[K, UsageTotals]:
    """Sum rows that share `key(row)`; keys keep the order they first appear in."""
    folded: dict[K, UsageTotals] = {}
    for row in rows:
        name = key(row)
        totals = folded.get(name)
        if totals is None:
            folded[name] = totals = UsageTotals()
        totals.add(row.totals)
    return folded


def _utc(moment: datetime) -> datetime:
    return (
        moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    )
