"""Additive usage totals and the measures read from them.

`UsageTotals` is what a roll-up, a group of raw calls, or any sum of them
holds: counts and sums that add exactly, maxima that combine by `max`, and
latency histograms that add bucket by bucket. `summarize` turns totals into
the `UsageSummary` clients see: rates, averages and percentiles.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from app.pipelines.histogram import percentiles
from app.pipelines.rollup import COUNTERS

LATENCY_PERCENTILES = (50.0, 90.0, 95.0, 99.0)
TTFT_PERCENTILES = (50.0, 95.0)


@dataclass(slots=True)
class UsageTotals:
    """Sums, maxima and histograms of a set of calls; `add` merges two sets."""

    counters: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(COUNTERS, 0)
    )
    duration_max: float | None = None
    duration_min: float | None = None
    latest_error: str | None = None
    latency_hist: dict[int, int] = field(default_factory=dict)
    ttft_hist: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls, row: Mapping[str, Any], *, with_histograms: bool = True
    ) -> "UsageTotals":
        """Totals from a stored roll-up or a raw aggregation row (missing is zero)."""
        totals = cls(
            counters={name: row.get(name) or 0 for name in COUNTERS},
            duration_max=row.get("duration_max"),
            duration_min=row.get("duration_min"),
            latest_error=row.get("latest_error"),
        )
        if with_histograms:
            totals.latency_hist = _int_keys(row.get("latency_hist"))
            totals.ttft_hist = _int_keys(row.get("ttft_hist"))
        return totals

    @property
    def calls(self) -> int:
        return int(self.counters["call_count"])

    def add(self, other: "UsageTotals") -> None:
        """Add `other` into these totals."""
        counters = self.counters
        for name, amount in other.counters.items():
            if amount:
                counters[name] += amount
        if other.duration_max is not None and (
            self.duration_max is None or other.duration_max > self.duration_max
        ):
            self.duration_max = other.duration_max
        if other.duration_min is not None and (
            self.duration_min is None or other.duration_min < self.duration_min
        ):
            self.duration_min = other.duration_min
        if other.latest_error is not None and (
            self.latest_error is None or other.latest_error > self.latest_error
        ):
            self.latest_error = other.latest_error
        _add_counts(self.latency_hist, other.latency_hist)
        _add_counts(self.ttft_hist, other.ttft_hist)


def total_of(parts: Iterable[UsageTotals]) -> UsageTotals:
    """The sum of `parts`."""
    whole = UsageTotals()
    for part in parts:
        whole.add(part)
    return whole


def _int_keys(histogram: Mapping[str, int] | None) -> dict[int, int]:
    if not histogram:
        return {}
    return {int(key): count for key, count in histogram.items() if count}


def _add_counts(into: dict[int, int], counts: Mapping[int, int]) -> None:
    for index, count in counts.items():
        into[index] = into.get(index, 0) + count


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


def summarize(totals: UsageTotals, *, with_percentiles: bool = True) -> UsageSummary:
    """The measures of `totals`; percentiles stay null unless asked for."""
    counters = totals.counters
    calls = int(counters["call_count"])
    errors = int(counters["error_count"])
    priced = int(counters["priced_count"])
    duration_count = counters["duration_count"]

    latency: dict[float, float | None] = dict.fromkeys(LATENCY_PERCENTILES)
    ttft: dict[float, float | None] = dict.fromkeys(TTFT_PERCENTILES)
    if with_percentiles:
        latency = percentiles(
            totals.latency_hist,
            LATENCY_PERCENTILES,
            floor=totals.duration_min,
            ceiling=totals.duration_max,
        )
        ttft = percentiles(totals.ttft_hist, TTFT_PERCENTILES)

    return UsageSummary(
        calls=calls,
        successes=calls - errors,
        errors=errors,
        error_rate=errors / calls if calls else None,
        prompt_tokens=int(counters["prompt_tokens"]),
        completion_tokens=int(counters["completion_tokens"]),
        total_tokens=int(counters["total_tokens"]),
        cached_prompt_tokens=int(counters["cached_prompt_tokens"]),
        cache_write_tokens=int(counters["cache_write_tokens"]),
        reasoning_tokens=int(counters["reasoning_tokens"]),
        cost_usd=float(counters["cost_usd"]) if priced else None,
        avg_cost_usd=counters["cost_usd"] / priced if priced else None,
        priced_calls=priced,
        unpriced_calls=int(counters["unpriced_count"]),
        latency_avg_ms=(
            counters["duration_ms_sum"] / duration_count if duration_count else None
        ),
        latency_p50_ms=latency[50.0],
        latency_p90_ms=latency[90.0],
        latency_p95_ms=latency[95.0],
        latency_p99_ms=latency[99.0],
        latency_max_ms=totals.duration_max if duration_count else None,
        ttft_p50_ms=ttft[50.0],
        ttft_p95_ms=ttft[95.0],
    )
