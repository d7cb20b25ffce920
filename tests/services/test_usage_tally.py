"""A live-usage tally: exact counts and sums, percentiles within 1%, and a
window that forgets what left it."""

import math
import random

import pytest

from app.services.live import LiveCallFilter
from app.services.usage_tally import MAX_BUCKETS, UsageEntry, UsageTally

NOW = 1_800_000_000.0


def entry(call_id: str, at: float, **overrides: object) -> UsageEntry:
    values: dict[str, object] = {
        "call_id": call_id,
        "at": at,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "environment": "production",
        "status": "success",
        "user_id": None,
        "session_id": None,
        "cost_usd": 0.1,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "duration_ms": 100.0,
    }
    return UsageEntry(**(values | overrides))  # type: ignore[arg-type]  # test builder


def exact_percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_percentiles_are_within_one_percent_of_the_exact_values() -> None:
    generator = random.Random(7)
    durations = [generator.lognormvariate(6, 1) for _ in range(5000)]
    tally = UsageTally(LiveCallFilter(), window_s=300)
    for index, duration in enumerate(durations):
        tally.add(entry(str(index), NOW - 10, duration_ms=duration), now=NOW)

    snapshot = tally.snapshot(NOW)

    assert snapshot.calls == 5000
    assert snapshot.latency_p50_ms == pytest.approx(
        exact_percentile(durations, 0.5), rel=0.01
    )
    assert snapshot.latency_p95_ms == pytest.approx(
        exact_percentile(durations, 0.95), rel=0.01
    )


def test_totals_are_exact_and_calls_without_a_price_are_counted_apart() -> None:
    tally = UsageTally(LiveCallFilter(), window_s=60)
    for index in range(10):
        tally.add(entry(f"p{index}", NOW - 5, cost_usd=0.1), now=NOW)
    tally.add(entry("free", NOW - 5, cost_usd=None, status="error"), now=NOW)
    tally.add(entry("no-latency", NOW - 5, duration_ms=None), now=NOW)

    snapshot = tally.snapshot(NOW)

    assert snapshot.calls == 12
    assert snapshot.errors == 1
    assert snapshot.unpriced_calls == 1
    assert snapshot.cost_usd == 1.1  # integer nano-dollars: no float drift
    assert snapshot.total_tokens == 12 * 15
    assert snapshot.latency_p50_ms == pytest.approx(100, rel=0.01)


def test_calls_leave_the_totals_when_they_leave_the_window() -> None:
    tally = UsageTally(LiveCallFilter(), window_s=60)
    tally.add(entry("old", NOW - 50, cost_usd=0.3, duration_ms=900), now=NOW)
    tally.add(entry("new", NOW - 1, cost_usd=0.1, duration_ms=10), now=NOW)
    assert tally.snapshot(NOW).calls == 2

    later = tally.snapshot(NOW + 30)

    assert later.calls == 1
    assert later.cost_usd == 0.1
    assert later.latency_p95_ms == pytest.approx(10, rel=0.01)
    empty = tally.snapshot(NOW + 120)
    assert (empty.calls, empty.cost_usd, empty.latency_p50_ms) == (0, 0.0, None)


def test_a_call_that_started_before_the_window_or_misses_the_filter_is_ignored() -> (
    None
):
    tally = UsageTally(LiveCallFilter(providers=("anthropic",)), window_s=60)
    tally.add(entry("stale", NOW - 120, provider="anthropic"), now=NOW)
    tally.add(entry("other", NOW - 1), now=NOW)
    tally.add(entry("hit", NOW - 1, provider="anthropic"), now=NOW)

    assert tally.snapshot(NOW).calls == 1


@pytest.mark.parametrize("window_s", [60, 300, 3600])
def test_the_window_start_is_at_most_one_step_early(window_s: int) -> None:
    tally = UsageTally(LiveCallFilter(), window_s=window_s)
    step = max(1, math.ceil(window_s / MAX_BUCKETS))

    snapshot = tally.snapshot(NOW + 0.5)

    start = snapshot.window_start.timestamp()
    assert NOW + 0.5 - window_s - step < start <= NOW + 0.5 - window_s
