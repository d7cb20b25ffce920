"""Rolling totals of one live-usage subscriber: cheap to add to and to read.

A tally splits its window into at most `MAX_BUCKETS` time buckets. Adding a
call touches one bucket and the running totals; a reading drops the buckets
that left the window (subtracting them) and reads the totals, so neither cost
grows with traffic. Latency percentiles come from the same log-spaced
histogram the roll-ups use (`app/pipelines/histogram.py`), within 1% of exact.
"""

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.documents import Log
from app.pipelines.histogram import bucket_index, percentile_from_counts
from app.services.live import LiveCallFilter

MAX_BUCKETS = 240
_NANO = 1_000_000_000


@dataclass(frozen=True, slots=True)
class UsageEntry:
    """The few facts about one call that live usage needs."""

    call_id: str
    at: float  # the call's start, seconds since the epoch
    provider: str
    model: str
    environment: str
    status: str
    user_id: str | None
    session_id: str | None
    cost_usd: float | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    duration_ms: float | None

    @classmethod
    def from_log(cls, log: Log) -> "UsageEntry":
        return cls(
            call_id=log.call_id,
            at=log.timestamp.timestamp(),
            provider=log.provider,
            model=log.model,
            environment=log.environment,
            status=log.status,
            user_id=log.user_id,
            session_id=log.session_id,
            cost_usd=log.cost_usd,
            prompt_tokens=log.prompt_tokens or 0,
            completion_tokens=log.completion_tokens or 0,
            total_tokens=log.total_tokens or 0,
            duration_ms=log.duration_ms,
        )


@dataclass(slots=True)
class _Totals:
    calls: int = 0
    errors: int = 0
    cost_nano_usd: int = 0  # integers: subtracting expired buckets stays exact
    unpriced_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latencies: dict[int, int] = field(default_factory=dict)

    def add(self, entry: UsageEntry) -> None:
        self.calls += 1
        self.errors += entry.status == "error"
        if entry.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_nano_usd += round(entry.cost_usd * _NANO)
        self.prompt_tokens += entry.prompt_tokens
        self.completion_tokens += entry.completion_tokens
        self.total_tokens += entry.total_tokens
        if entry.duration_ms is not None:
            index = bucket_index(entry.duration_ms)
            self.latencies[index] = self.latencies.get(index, 0) + 1

    def subtract(self, other: "_Totals") -> None:
        self.calls -= other.calls
        self.errors -= other.errors
        self.cost_nano_usd -= other.cost_nano_usd
        self.unpriced_calls -= other.unpriced_calls
        self.prompt_tokens -= other.prompt_tokens
        self.completion_tokens -= other.completion_tokens
        self.total_tokens -= other.total_tokens
        for index, count in other.latencies.items():
            left = self.latencies[index] - count
            if left:
                self.latencies[index] = left
            else:
                del self.latencies[index]


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """Live totals over `[window_start, window_end]`."""

    window_start: datetime
    window_end: datetime
    calls: int
    errors: int
    cost_usd: float
    unpriced_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    complete: bool


class UsageTally:
    """One subscriber's rolling totals over the last `window_s` seconds."""

    def __init__(self, call_filter: LiveCallFilter, window_s: float) -> None:
        self.call_filter = call_filter
        self.window_s = window_s
        self.bucket_s = max(1, math.ceil(window_s / MAX_BUCKETS))
        self.complete = True
        self.broken = asyncio.Event()
        self._buckets: dict[int, _Totals] = {}
        self._totals = _Totals()

    def _first_bucket(self, now: float) -> int:
        return math.floor((now - self.window_s) / self.bucket_s)

    def add(self, entry: UsageEntry, *, now: float) -> None:
        """Count `entry` if it matches and its start is still inside the window."""
        index = math.floor(entry.at / self.bucket_s)
        if index < self._first_bucket(now) or not self.call_filter.matches(entry):
            return
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = _Totals()
        bucket.add(entry)
        self._totals.add(entry)

    def snapshot(self, now: float) -> UsageSnapshot:
        """Drop what left the window, then read the totals."""
        first = self._first_bucket(now)
        for index in [index for index in self._buckets if index < first]:
            self._totals.subtract(self._buckets.pop(index))
        totals = self._totals
        return UsageSnapshot(
            window_start=datetime.fromtimestamp(first * self.bucket_s, UTC),
            window_end=datetime.fromtimestamp(now, UTC),
            calls=totals.calls,
            errors=totals.errors,
            cost_usd=totals.cost_nano_usd / _NANO,
            unpriced_calls=totals.unpriced_calls,
            prompt_tokens=totals.prompt_tokens,
            completion_tokens=totals.completion_tokens,
            total_tokens=totals.total_tokens,
            latency_p50_ms=percentile_from_counts(totals.latencies, 50),
            latency_p95_ms=percentile_from_counts(totals.latencies, 95),
            complete=self.complete,
        )
