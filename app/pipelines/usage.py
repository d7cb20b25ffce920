"""Usage filters, their match stages, and the usage summary from roll-ups or raw calls.

A question about usage is answered from the hourly roll-ups when its filter and
grouping only touch what a roll-up keeps (`covered_by_rollups`), and from the
raw calls otherwise. Both paths produce the same `UsageSummary`; percentiles
come from the same latency buckets on both, so they agree within 1%.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from app.documents.log import CostSource, MetadataValue, Status
from app.documents.rollup import UsageRollup
from app.errors import InvalidInput
from app.pipelines import Pipeline
from app.pipelines.histogram import (
    Counts,
    bucket_index_expression,
    merge_counts,
    percentile_from_counts,
)
from app.pipelines.timebuckets import is_utc_hour

# `Log` fields a roll-up is keyed by, in the order match stages list them.
ROLLUP_DIMENSIONS = ("provider", "model", "environment", "status", "status_code")

# Filter attributes that roll-ups answer, mapped to the field they constrain.
_ROLLUP_FILTERS = {
    "providers": "provider",
    "models": "model",
    "environments": "environment",
    "statuses": "status",
    "status_codes": "status_code",
}
_RAW_ONLY_FILTERS = {
    "user_ids": "user_id",
    "session_ids": "session_id",
    "error_types": "error.type",
}


@dataclass(frozen=True, kw_only=True)
class UsageFilter:
    """Which calls a usage question is about: one project, `[start, end)`, and more.

    Every tuple narrows the calls to those whose field takes one of its values;
    an empty tuple does not narrow. A call must carry all of `tags`. Metadata
    pairs with different keys must all match; pairs sharing a key match any of
    their values. `start` and `end` are stored in UTC.

    Raises:
        InvalidInput: a naive or reversed range, or a metadata key or value
            that cannot be matched safely.
    """

    project_id: str
    start: datetime
    end: datetime
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    status_codes: tuple[int, ...] = ()
    user_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, MetadataValue], ...] = ()
    cost_sources: tuple[CostSource, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("start and end of the range need a UTC offset")
        if self.start > self.end:
            raise InvalidInput("the range starts after it ends; swap start and end")
        # Frozen dataclasses are set through object.__setattr__ in __post_init__.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        for key, value in self.metadata:
            _check_metadata_pair(key, value)


def _check_metadata_pair(key: str, value: object) -> None:
    # The key becomes part of a field path, so "." or a leading "$" would reach
    # another field or an operator.
    if not key or "." in key or key.startswith("$") or "\0" in key:
        message = (
            f"metadata key {key!r} cannot be filtered on; "
            "use a key without '.', a leading '$' or NUL"
        )
        raise InvalidInput(message)
    if not isinstance(value, str | int | float | bool):
        message = f"metadata value for {key!r} must be a string, number or boolean"
        raise InvalidInput(message)


def covered_by_rollups(
    usage_filter: UsageFilter,
    group_by: Iterable[str] = (),
    *,
    bucket_starts: Sequence[datetime] = (),
) -> bool:
    """Whether the hourly roll-ups hold everything needed to answer this question.

    True only when the range starts and ends on UTC hours, the filter narrows
    nothing but the roll-up dimensions, every `group_by` name is one of
    `ROLLUP_DIMENSIONS`, and every time-bucket start (if any) is a UTC hour, so
    minute buckets and zones with a non-whole-hour offset need raw calls.
    """
    return (
        _filter_covered(usage_filter)
        and all(name in ROLLUP_DIMENSIONS for name in group_by)
        and all(is_utc_hour(start) for start in bucket_starts)
    )


def _filter_covered(usage_filter: UsageFilter) -> bool:
    raw_only = (
        usage_filter.user_ids,
        usage_filter.session_ids,
        usage_filter.error_types,
        usage_filter.tags,
        usage_filter.metadata,
        usage_filter.cost_sources,
    )
    return (
        is_utc_hour(usage_filter.start)
        and is_utc_hour(usage_filter.end)
        and not any(raw_only)
    )


def raw_match_stage(usage_filter: UsageFilter) -> dict[str, Any]:
    """The `$match` stage that selects the filter's calls in `llm_logs`.

    It leads with `project_id` and the `timestamp` range, the prefix of the
    `project_time` index; every value comes from the typed filter.
    """
    match: dict[str, Any] = {
        "project_id": usage_filter.project_id,
        "timestamp": {"$gte": usage_filter.start, "$lt": usage_filter.end},
    }
    match |= _in_conditions(usage_filter, _ROLLUP_FILTERS)
    match |= _in_conditions(usage_filter, _RAW_ONLY_FILTERS)
    if usage_filter.tags:
        match["tags"] = {"$all": list(usage_filter.tags)}

    values_by_key: dict[str, list[MetadataValue]] = {}
    for key, value in usage_filter.metadata:
        values_by_key.setdefault(key, []).append(value)
    for key, values in values_by_key.items():
        match[f"metadata.{key}"] = {"$in": values}

    if usage_filter.cost_sources:
        match["cost_source"] = {"$in": list(usage_filter.cost_sources)}
    return {"$match": match}


def rollup_match_stage(usage_filter: UsageFilter) -> dict[str, Any]:
    """The `$match` stage that selects the filter's roll-ups in `usage_rollups_hourly`.

    Raises:
        ValueError: the filter needs raw calls; ask `covered_by_rollups` first.
    """
    if not _filter_covered(usage_filter):
        raise ValueError("this filter needs raw calls; check covered_by_rollups first")
    match: dict[str, Any] = {
        "project_id": usage_filter.project_id,
        "hour": {"$gte": usage_filter.start, "$lt": usage_filter.end},
    }
    match |= _in_conditions(usage_filter, _ROLLUP_FILTERS)
    return {"$match": match}


def _in_conditions(
    usage_filter: UsageFilter, attributes: Mapping[str, str]
) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    for attribute, path in attributes.items():
        values = getattr(usage_filter, attribute)
        if values:
            conditions[path] = {"$in": list(values)}
    return conditions


class UsageSummary(BaseModel):
    """Totals, rates and latency percentiles of the calls a filter selects."""

    calls: int = 0
    successes: int = 0
    errors: int = 0
    error_rate: float | None = Field(
        default=None, description="errors / calls; null without calls"
    )
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = Field(
        default=None, description="USD over priced calls; null when none is priced"
    )
    avg_cost_usd: float | None = Field(
        default=None, description="USD per priced call; null when none is priced"
    )
    priced_calls: int = 0
    unpriced_calls: int = 0
    latency_avg_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = Field(
        default=None,
        description="from roll-ups, an upper bound once calls were deleted or repriced",
    )
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None


@dataclass
class _Sums:
    """Additive totals, named as in `UsageRollup`, that a summary is derived from."""

    call_count: int = 0
    error_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    priced_count: int = 0
    unpriced_count: int = 0
    duration_ms_sum: float = 0.0
    duration_count: int = 0


_SUM_FIELDS = tuple(field.name for field in fields(_Sums))


def summary_from_rollups(rows: Iterable[UsageRollup]) -> UsageSummary:
    """Sum roll-ups (from `rollup_match_stage`) into one summary."""
    sums = _Sums()
    latency_hists: list[Counts] = []
    ttft_hists: list[Counts] = []
    duration_max: float | None = None
    for row in rows:
        for name in _SUM_FIELDS:
            setattr(sums, name, getattr(sums, name) + getattr(row, name))
        latency_hists.append(row.latency_hist)
        ttft_hists.append(row.ttft_hist)
        if row.duration_max is not None and (
            duration_max is None or row.duration_max > duration_max
        ):
            duration_max = row.duration_max

    latency_hist = merge_counts(*latency_hists)
    ttft_hist = merge_counts(*ttft_hists)
    return _summary(sums, duration_max, latency_hist, ttft_hist)


def summary_from_raw_pipeline(usage_filter: UsageFilter) -> Pipeline:
    """The pipeline over `llm_logs` whose one result `summary_from_raw_result` reads.

    Latency and time-to-first-token are bucketed on the server into the same
    histogram as roll-ups, so at most one row per bucket crosses the wire and
    no operator newer than MongoDB 4.4 (or missing from the embedded store) is
    needed. `$facet` keeps it to one pass over the matched calls.
    """
    is_priced = {"$isNumber": "$cost_usd"}
    totals = {
        "_id": None,
        "call_count": {"$sum": 1},
        "error_count": {"$sum": {"$cond": [{"$eq": ["$status", "error"]}, 1, 0]}},
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
        "duration_count": {"$sum": {"$cond": [{"$isNumber": "$duration_ms"}, 1, 0]}},
        "duration_max": {"$max": "$duration_ms"},
    }
    return [
        raw_match_stage(usage_filter),
        {
            "$facet": {
                "totals": [{"$group": totals}],
                "latency_hist": _histogram_branch("duration_ms"),
                "ttft_hist": _histogram_branch("time_to_first_token_ms"),
            }
        },
    ]


def summary_from_raw_result(result: Mapping[str, Any]) -> UsageSummary:
    """The summary from the one document `summary_from_raw_pipeline` returns."""
    totals_rows = result.get("totals") or [{}]
    totals = totals_rows[0]
    sums = _Sums(**{name: totals[name] for name in _SUM_FIELDS if name in totals})
    latency_hist = _histogram_from_rows(result.get("latency_hist") or [])
    ttft_hist = _histogram_from_rows(result.get("ttft_hist") or [])
    return _summary(sums, totals.get("duration_max"), latency_hist, ttft_hist)


def _histogram_branch(field: str) -> Pipeline:
    return [
        {"$match": {field: {"$ne": None}}},
        {"$group": {"_id": bucket_index_expression(f"${field}"), "count": {"$sum": 1}}},
    ]


def _histogram_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[int, int]:
    # `$ceil` returns a double, so the bucket ids arrive as 12.0.
    return {int(row["_id"]): int(row["count"]) for row in rows}


def _summary(
    sums: _Sums,
    duration_max: float | None,
    latency_hist: Counts,
    ttft_hist: Counts,
) -> UsageSummary:
    calls = sums.call_count
    priced = sums.priced_count
    cost_usd = sums.cost_usd if priced else None

    def latency(q: float) -> float | None:
        return _percentile(latency_hist, q, ceiling=duration_max)

    return UsageSummary(
        calls=calls,
        successes=calls - sums.error_count,
        errors=sums.error_count,
        error_rate=sums.error_count / calls if calls else None,
        prompt_tokens=sums.prompt_tokens,
        completion_tokens=sums.completion_tokens,
        total_tokens=sums.total_tokens,
        cached_prompt_tokens=sums.cached_prompt_tokens,
        cache_write_tokens=sums.cache_write_tokens,
        reasoning_tokens=sums.reasoning_tokens,
        cost_usd=cost_usd,
        avg_cost_usd=sums.cost_usd / priced if priced else None,
        priced_calls=priced,
        unpriced_calls=sums.unpriced_count,
        latency_avg_ms=(
            sums.duration_ms_sum / sums.duration_count if sums.duration_count else None
        ),
        latency_p50_ms=latency(50),
        latency_p90_ms=latency(90),
        latency_p95_ms=latency(95),
        latency_p99_ms=latency(99),
        latency_max_ms=duration_max,
        ttft_p50_ms=_percentile(ttft_hist, 50),
        ttft_p95_ms=_percentile(ttft_hist, 95),
    )


def _percentile(
    histogram: Counts, q: float, *, ceiling: float | None = None
) -> float | None:
    # The true percentile never exceeds the maximum, so capping a bucket's
    # estimate at it can only bring the estimate closer.
    value = percentile_from_counts(histogram, q)
    if value is None or ceiling is None:
        return value
    return min(value, ceiling)
