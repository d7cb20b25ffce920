"""Hourly and daily roll-up updates for a batch of calls, grouped in Python first.

A batch of calls becomes one `UpdateOne` per distinct roll-up key, so the bulk
write that follows the batch carries as many roll-up updates as the batch has
distinct (project, period, provider, model, environment, status, status code,
error type) combinations, not one per call.
"""

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Self

from pymongo import UpdateOne

from app.documents.log import Log
from app.pipelines.histogram import bucket_index
from app.pipelines.timebuckets import floor_to_utc_hour

# Sums that are floats in storage are sent as floats so the stored BSON type
# does not depend on the first batch.
_FLOAT_COUNTERS = ("cost_usd", "duration_ms_sum")
_INT_COUNTERS = (
    "call_count",
    "error_count",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "priced_count",
    "unpriced_count",
    "duration_count",
    "ttft_count",
)
# Every counter a roll-up sums; raw aggregation produces the same names.
COUNTERS = _INT_COUNTERS + _FLOAT_COUNTERS


class RollupPeriod(enum.Enum):
    """The time span one roll-up document covers, with where it is stored."""

    HOUR = ("usage_rollups_hourly", "hour", "%Y-%m-%dT%H")
    DAY = ("usage_rollups_daily", "day", "%Y-%m-%d")

    def __init__(self, collection: str, time_field: str, key_format: str) -> None:
        self.collection = collection
        self.time_field = time_field
        self.key_format = key_format

    def floor(self, ts: datetime) -> datetime:
        """The UTC start of the period that contains `ts`; a naive `ts` is UTC."""
        hour = floor_to_utc_hour(ts)
        return hour.replace(hour=0) if self is RollupPeriod.DAY else hour


class RollupDimensions(NamedTuple):
    """What one roll-up counts: a project, a UTC period start and six dimensions."""

    project_id: str
    start: datetime
    provider: str
    model: str
    environment: str
    status: str
    status_code: int | None
    error_type: str | None

    @classmethod
    def of(cls, log: Log, period: RollupPeriod = RollupPeriod.HOUR) -> Self:
        """The dimensions of the roll-up of `period` that counts `log`."""
        return cls(
            project_id=log.project_id,
            start=period.floor(log.timestamp),
            provider=log.provider,
            model=log.model,
            environment=log.environment,
            status=log.status,
            status_code=log.status_code,
            error_type=log.error.type if log.error is not None else None,
        )


def rollup_key(
    dimensions: RollupDimensions, period: RollupPeriod = RollupPeriod.HOUR
) -> str:
    """The `_id` of the roll-up for `dimensions`, the same on every write.

    A compact JSON array: provider and model names may contain any separator
    (`ft:gpt-4o:acme`), and JSON escaping keeps distinct dimensions distinct.
    """
    parts = [
        dimensions.project_id,
        period.floor(dimensions.start).strftime(period.key_format),
        dimensions.provider,
        dimensions.model,
        dimensions.environment,
        dimensions.status,
        dimensions.status_code,
        dimensions.error_type,
    ]
    return json.dumps(parts, separators=(",", ":"))


def latest_call_marker(log: Log) -> str:
    """`"<timestamp>|<call id>"`, ordered like the calls' times when compared as text.

    Milliseconds and a fixed `Z` suffix match what `$dateToString` with
    `%Y-%m-%dT%H:%M:%S.%LZ` produces on the server for the same call.
    """
    utc = (
        log.timestamp.replace(tzinfo=UTC)
        if log.timestamp.tzinfo is None
        else log.timestamp.astimezone(UTC)
    )
    stamp = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return f"{stamp}|{log.call_id}"


def _zero_counters() -> dict[str, float]:
    return dict.fromkeys(_INT_COUNTERS, 0) | dict.fromkeys(_FLOAT_COUNTERS, 0.0)


@dataclass
class _Totals:
    """What a batch adds to one roll-up: `$inc` amounts by field path, and maxima."""

    inc: dict[str, float] = field(default_factory=_zero_counters)
    duration_max: float | None = None
    duration_min: float | None = None
    latest_error: str | None = None

    def add(self, log: Log) -> None:
        inc = self.inc
        inc["call_count"] += 1
        if log.status == "error":
            inc["error_count"] += 1
            marker = latest_call_marker(log)
            if self.latest_error is None or marker > self.latest_error:
                self.latest_error = marker

        inc["prompt_tokens"] += log.prompt_tokens or 0
        inc["completion_tokens"] += log.completion_tokens or 0
        inc["total_tokens"] += log.total_tokens or 0
        inc["cached_prompt_tokens"] += log.cached_prompt_tokens or 0
        inc["cache_write_tokens"] += log.cache_write_tokens or 0
        inc["reasoning_tokens"] += log.reasoning_tokens or 0

        if log.cost_usd is None:
            inc["unpriced_count"] += 1
        else:
            inc["cost_usd"] += log.cost_usd
            inc["priced_count"] += 1

        if log.duration_ms is not None:
            inc["duration_ms_sum"] += log.duration_ms
            inc["duration_count"] += 1
            self._count_bucket("latency_hist", log.duration_ms)
            if self.duration_max is None or log.duration_ms > self.duration_max:
                self.duration_max = log.duration_ms
            if self.duration_min is None or log.duration_ms < self.duration_min:
                self.duration_min = log.duration_ms

        if log.time_to_first_token_ms is not None:
            inc["ttft_count"] += 1
            self._count_bucket("ttft_hist", log.time_to_first_token_ms)

    def _count_bucket(self, histogram: str, value_ms: float) -> None:
        path = f"{histogram}.{bucket_index(value_ms)}"
        self.inc[path] = self.inc.get(path, 0) + 1


def rollup_updates(
    logs: Iterable[Log],
    *,
    sign: int = 1,
    period: RollupPeriod = RollupPeriod.HOUR,
) -> list[UpdateOne]:
    """One upsert per distinct roll-up key in `logs`, adding (`sign=1`) their totals.

    With `sign=-1` the updates subtract the same totals, for calls that are
    deleted, or repriced (subtract the old call, add the new one). A maximum
    cannot be subtracted, so `duration_max`, `duration_min` and `latest_error`
    are left alone (they become bounds of what is left).
    Decrements do not upsert: a missing roll-up means the calls were never
    counted, and a document of negative totals would be wrong. Counters a batch
    leaves at zero are not sent, so they are not stored until needed; counters
    and histogram buckets that drop back to zero stay stored as zeros, which
    readers ignore.

    Updates come in the order their keys first appear in `logs`.

    Raises:
        ValueError: `sign` is neither 1 nor -1.
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be 1 or -1, not {sign}")

    grouped: dict[RollupDimensions, _Totals] = {}
    for log in logs:
        dimensions = RollupDimensions.of(log, period)
        totals = grouped.get(dimensions)
        if totals is None:
            totals = grouped[dimensions] = _Totals()
        totals.add(log)

    return [
        _update(dimensions, totals, sign=sign, period=period)
        for dimensions, totals in grouped.items()
    ]


def _update(
    dimensions: RollupDimensions,
    totals: _Totals,
    *,
    sign: int,
    period: RollupPeriod,
) -> UpdateOne:
    update: dict[str, Any] = {
        "$inc": {path: amount * sign for path, amount in totals.inc.items() if amount}
    }
    if sign > 0:
        inserted = dimensions._asdict()
        inserted[period.time_field] = inserted.pop("start")
        update["$setOnInsert"] = inserted
        maxima: dict[str, Any] = {}
        if totals.duration_max is not None:
            maxima["duration_max"] = totals.duration_max
        if totals.latest_error is not None:
            maxima["latest_error"] = totals.latest_error
        if maxima:
            update["$max"] = maxima
        if totals.duration_min is not None:
            update["$min"] = {"duration_min": totals.duration_min}
    key = rollup_key(dimensions, period)
    return UpdateOne({"_id": key}, update, upsert=sign > 0)
