"""Usage filters, where their answer comes from, and the match stages that select it.

A question about usage is answered from roll-ups when its filter and grouping
only touch what a roll-up keeps (`covered_by_rollups`); `usage_sources` then
splits its range into whole UTC days (daily roll-ups), whole UTC hours (hourly
roll-ups) and the minutes before the first and after the last whole hour (raw
calls). Anything else reads raw calls for the whole range. Every source yields
the same totals, so the split is invisible except in speed.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.documents.log import CostSource, MetadataValue, Status
from app.errors import InvalidInput
from app.pipelines.rollup import RollupPeriod
from app.pipelines.timebuckets import floor_to_utc_hour, is_utc_hour

type TimeRange = tuple[datetime, datetime]

# Filter attributes and the `llm_logs` field each one narrows.
_RAW_FIELDS = {
    "providers": "provider",
    "models": "model",
    "environments": "environment",
    "statuses": "status",
    "status_codes": "status_code",
    "error_types": "error.type",
    "user_ids": "user_id",
    "session_ids": "session_id",
    "cost_sources": "cost_source",
}
# Filter attributes roll-ups answer, and the roll-up field each one narrows.
_ROLLUP_FIELDS = {
    "providers": "provider",
    "models": "model",
    "environments": "environment",
    "statuses": "status",
    "status_codes": "status_code",
    "error_types": "error_type",
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
            check_metadata_key(key)
            _check_metadata_value(key, value)


def check_metadata_key(key: str) -> None:
    """Refuse a metadata key that would change the field path it is read from.

    Raises:
        InvalidInput: the key is empty, contains "." or NUL, or starts with "$".
    """
    if not key or "." in key or key.startswith("$") or "\0" in key:
        message = (
            f"metadata key {key!r} cannot be filtered on; "
            "use a key without '.', a leading '$' or NUL"
        )
        raise InvalidInput(message)


def _check_metadata_value(key: str, value: object) -> None:
    if not isinstance(value, str | int | float | bool):
        message = f"metadata value for {key!r} must be a string, number or boolean"
        raise InvalidInput(message)


def covered_by_rollups(
    usage_filter: UsageFilter,
    group_by: Iterable[str] = (),
    *,
    bucket_starts: Sequence[datetime] = (),
) -> bool:
    """Whether roll-ups hold everything needed for this question, away from its edges.

    True only when the filter narrows nothing but roll-up dimensions, every
    `group_by` name is a roll-up dimension (`ROLLUP_DIMENSIONS`), and every
    time-bucket start (if any) is a UTC hour, so minute buckets and zones with
    a non-whole-hour offset need raw calls. The range itself may start and end
    anywhere: `usage_sources` reads the partial hours at its ends from raw calls.
    """
    return (
        _filter_covered(usage_filter)
        and all(name in ROLLUP_DIMENSIONS for name in group_by)
        and all(is_utc_hour(start) for start in bucket_starts)
    )


# Roll-up fields a question may group by.
ROLLUP_DIMENSIONS = (
    "provider",
    "model",
    "environment",
    "status",
    "status_code",
    "error_type",
)


def _filter_covered(usage_filter: UsageFilter) -> bool:
    raw_only = (
        usage_filter.user_ids,
        usage_filter.session_ids,
        usage_filter.tags,
        usage_filter.metadata,
        usage_filter.cost_sources,
    )
    return not any(raw_only)


@dataclass(frozen=True)
class UsageSources:
    """Which ranges each source answers; together they tile the filter's range."""

    raw: tuple[TimeRange, ...] = ()
    hourly: tuple[TimeRange, ...] = ()
    daily: tuple[TimeRange, ...] = ()


def usage_sources(
    usage_filter: UsageFilter,
    *,
    covered: bool,
    bucket_starts: Sequence[datetime] | None = None,
) -> UsageSources:
    """Split the filter's range between daily roll-ups, hourly roll-ups and raw calls.

    Without `covered` everything is raw. Otherwise whole UTC hours come from
    roll-ups and the partial hours at the ends from raw calls. Whole UTC days
    come from daily roll-ups when no time bucket starts inside one of them, so
    a day is never split between buckets: always without buckets, and for day,
    week and month buckets in UTC.
    """
    start, end = usage_filter.start, usage_filter.end
    if start >= end:
        return UsageSources()
    if not covered:
        return UsageSources(raw=((start, end),))

    first_hour = _ceil_hour(start)
    last_hour = floor_to_utc_hour(end)
    if first_hour >= last_hour:
        return UsageSources(raw=((start, end),))
    raw = _non_empty((start, first_hour), (last_hour, end))

    first_day = _ceil_day(first_hour)
    last_day = RollupPeriod.DAY.floor(last_hour)
    splits_a_day = any(
        first_day < bucket_start < last_day and bucket_start != _floor_day(bucket_start)
        for bucket_start in bucket_starts or ()
    )
    if first_day >= last_day or splits_a_day:
        return UsageSources(raw=raw, hourly=((first_hour, last_hour),))

    hourly = _non_empty((first_hour, first_day), (last_day, last_hour))
    return UsageSources(raw=raw, hourly=hourly, daily=((first_day, last_day),))


def _ceil_hour(moment: datetime) -> datetime:
    floor = floor_to_utc_hour(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def _floor_day(moment: datetime) -> datetime:
    return RollupPeriod.DAY.floor(moment)


def _ceil_day(moment: datetime) -> datetime:
    floor = _floor_day(moment)
    return floor if floor == moment else floor + timedelta(days=1)


def _non_empty(*ranges: TimeRange) -> tuple[TimeRange, ...]:
    return tuple((start, end) for start, end in ranges if start < end)


def raw_match_stage(
    usage_filter: UsageFilter, ranges: Sequence[TimeRange] | None = None
) -> dict[str, Any]:
    """The `$match` stage that selects the filter's calls in `llm_logs`.

    It leads with `project_id` and the `timestamp` range, the prefix of the
    `project_time` index; every value comes from the typed filter. With several
    `ranges` (the partial hours at both ends), each `$or` branch repeats the
    project, so every branch can use the index on its own.
    """
    ranges = ranges if ranges is not None else [(usage_filter.start, usage_filter.end)]
    match = _time_match(usage_filter.project_id, "timestamp", ranges)
    match |= _in_conditions(usage_filter, _RAW_FIELDS)
    if usage_filter.tags:
        match["tags"] = {"$all": list(usage_filter.tags)}

    values_by_key: dict[str, list[MetadataValue]] = {}
    for key, value in usage_filter.metadata:
        values_by_key.setdefault(key, []).append(value)
    for key, values in values_by_key.items():
        match[f"metadata.{key}"] = {"$in": values}
    return {"$match": match}


def rollup_match_stage(
    usage_filter: UsageFilter,
    period: RollupPeriod = RollupPeriod.HOUR,
    ranges: Sequence[TimeRange] | None = None,
) -> dict[str, Any]:
    """The `$match` stage that selects the filter's roll-ups of `period`.

    Raises:
        ValueError: the filter needs raw calls; ask `covered_by_rollups` first.
    """
    ranges = ranges if ranges is not None else [(usage_filter.start, usage_filter.end)]
    match = _time_match(usage_filter.project_id, period.time_field, ranges)
    match |= rollup_narrowing(usage_filter)
    return {"$match": match}


def rollup_narrowing(usage_filter: UsageFilter) -> dict[str, Any]:
    """The conditions on roll-up dimensions, without the project and the time.

    Raises:
        ValueError: the filter needs raw calls; ask `covered_by_rollups` first.
    """
    if not _filter_covered(usage_filter):
        raise ValueError("this filter needs raw calls; check covered_by_rollups first")
    return _in_conditions(usage_filter, _ROLLUP_FIELDS)


def _time_match(
    project_id: str, time_field: str, ranges: Sequence[TimeRange]
) -> dict[str, Any]:
    branches = [
        {"project_id": project_id, time_field: {"$gte": start, "$lt": end}}
        for start, end in ranges
    ]
    if len(branches) == 1:
        return branches[0]
    return {"$or": branches}


def _in_conditions(
    usage_filter: UsageFilter, attributes: Mapping[str, str]
) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    for attribute, path in attributes.items():
        values = getattr(usage_filter, attribute)
        if values:
            conditions[path] = {"$in": list(values)}
    return conditions


def distinct_count_pipeline(
    usage_filter: UsageFilter, field: str
) -> list[dict[str, Any]]:
    """Count the distinct non-null values of `field` among the filter's calls."""
    match = raw_match_stage(usage_filter)
    match["$match"].setdefault(field, {"$ne": None})
    return [match, {"$group": {"_id": f"${field}"}}, {"$count": "count"}]
