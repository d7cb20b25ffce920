import math
import random
from collections.abc import Callable
from fractions import Fraction

import pytest

from app.pipelines.histogram import (
    BUCKET_COUNT,
    GROWTH,
    LOWEST_MS,
    OVERFLOW_INDEX,
    TOP_MS,
    bucket_index,
    bucket_index_expression,
    bucket_value,
    counts_of,
    merge_counts,
    nearest_rank,
    percentile_from_counts,
)

QUANTILES = (0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100)


def exact_percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile, computed without floats in the rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(Fraction(str(q)) * len(ordered) / 100))
    return ordered[rank - 1]


def lognormal(rng: random.Random) -> float:
    return rng.lognormvariate(6.5, 0.8)


def uniform(rng: random.Random) -> float:
    return rng.uniform(50, 30_000)


def exponential(rng: random.Random) -> float:
    return rng.expovariate(1 / 800)


def pareto(rng: random.Random) -> float:
    # Heavy tail: a few calls take minutes, most well under a second.
    return 40 * rng.paretovariate(1.1)


def bimodal(rng: random.Random) -> float:
    return rng.gauss(120, 15) if rng.random() < 0.7 else rng.gauss(9_000, 2_000)


Distribution = Callable[[random.Random], float]


@pytest.mark.parametrize(
    "distribution", [lognormal, uniform, exponential, pareto, bimodal]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_one_percent_of_exact_nearest_rank(
    distribution: Distribution, seed: int
) -> None:
    rng = random.Random(seed)
    values = [distribution(rng) for _ in range(rng.choice([7, 101, 5_000]))]
    assert all(LOWEST_MS < value <= TOP_MS for value in values)

    counts = counts_of(values)

    for q in QUANTILES:
        exact = exact_percentile(values, q)
        estimate = percentile_from_counts(counts, q)
        assert estimate is not None
        assert abs(estimate - exact) <= 0.01 * exact, (q, exact, estimate)


def test_percentiles_of_merged_histograms_equal_those_of_all_values() -> None:
    rng = random.Random(7)
    chunks = [[pareto(rng) for _ in range(300)] for _ in range(6)]
    everything = [value for chunk in chunks for value in chunk]

    merged = merge_counts(*(counts_of(chunk) for chunk in chunks))

    assert merged == counts_of(everything)
    for q in QUANTILES:
        exact = exact_percentile(everything, q)
        estimate = percentile_from_counts(merged, q)
        assert estimate is not None
        assert abs(estimate - exact) <= 0.01 * exact


def test_merge_is_associative_and_commutative() -> None:
    rng = random.Random(11)
    first, second, third = (
        counts_of(lognormal(rng) for _ in range(200)) for _ in range(3)
    )

    left = merge_counts(merge_counts(first, second), third)
    right = merge_counts(first, merge_counts(second, third))

    assert left == right
    assert merge_counts(third, first, second) == left


def test_merge_accepts_integer_keys_and_returns_string_keys_in_bucket_order() -> None:
    merged = merge_counts({12: 1, 3: 2}, {"12": 4, "100": 1})

    assert merged == {"3": 2, "12": 5, "100": 1}
    assert list(merged) == ["3", "12", "100"]


def test_merge_drops_buckets_that_sum_to_zero() -> None:
    assert merge_counts({"5": 2, "9": 1}, {"5": -2}) == {"9": 1}
    assert merge_counts() == {}


def test_every_value_in_range_is_within_one_percent_of_its_bucket_value() -> None:
    steps = 20_000
    ratio = (TOP_MS / LOWEST_MS) ** (1 / steps)
    values = [LOWEST_MS * ratio**step for step in range(1, steps + 1)]

    for value in values:
        representative = bucket_value(bucket_index(value))
        assert abs(representative - value) <= 0.01 * value, value


def test_bucket_edges_belong_to_the_lower_bucket() -> None:
    edge = LOWEST_MS * GROWTH**10

    assert bucket_index(edge) == 10
    assert bucket_index(edge * 1.000001) == 11
    assert bucket_value(10) < edge < bucket_value(11)


def test_values_at_or_below_the_lowest_edge_fall_in_bucket_zero() -> None:
    for value in (-5.0, 0.0, 0.05, LOWEST_MS, math.nan):
        assert bucket_index(value) == 0

    assert bucket_index(LOWEST_MS * 1.0001) == 1
    assert bucket_value(0) == LOWEST_MS


def test_values_above_one_hour_fall_in_the_overflow_bucket() -> None:
    assert TOP_MS > 3_600_000
    assert bucket_index(TOP_MS) == OVERFLOW_INDEX - 1
    assert bucket_index(TOP_MS * 1.001) == OVERFLOW_INDEX
    assert bucket_index(math.inf) == OVERFLOW_INDEX
    assert bucket_value(OVERFLOW_INDEX) == TOP_MS
    assert BUCKET_COUNT == OVERFLOW_INDEX + 1


@pytest.mark.parametrize("index", [-1, OVERFLOW_INDEX + 1])
def test_bucket_value_rejects_indexes_outside_the_scheme(index: int) -> None:
    with pytest.raises(ValueError, match="not a latency bucket"):
        bucket_value(index)


def test_counts_of_keeps_only_non_empty_buckets_keyed_by_index_string() -> None:
    counts = counts_of([1000.0, 1000.0, 0.0, 5_000_000.0])

    assert counts == {"0": 1, str(bucket_index(1000.0)): 2, str(OVERFLOW_INDEX): 1}


def test_percentile_accepts_integer_and_string_keys() -> None:
    index = bucket_index(250.0)

    assert percentile_from_counts({index: 3}, 50) == bucket_value(index)
    assert percentile_from_counts({str(index): 3}, 50) == bucket_value(index)


def test_percentile_of_an_empty_histogram_is_none() -> None:
    assert percentile_from_counts({}, 50) is None
    assert percentile_from_counts({"4": 0, "9": -1}, 50) is None


def test_percentile_ignores_buckets_left_at_zero_or_below_by_decrements() -> None:
    low, high = bucket_index(10.0), bucket_index(900.0)

    assert percentile_from_counts({low: 0, high: 2}, 1) == bucket_value(high)
    assert percentile_from_counts({low: -3, high: 2}, 1) == bucket_value(high)


@pytest.mark.parametrize("q", [-0.1, 100.1])
def test_percentile_rejects_q_outside_zero_to_one_hundred(q: float) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.100"):
        percentile_from_counts({"5": 1}, q)


def test_nearest_rank_is_not_moved_by_float_rounding() -> None:
    assert nearest_rank(95, 100) == 95
    assert nearest_rank(99.9, 1000) == 999
    assert nearest_rank(0, 10) == 1
    assert nearest_rank(50, 3) == 2


def test_bucket_index_expression_mirrors_bucket_index_on_the_server() -> None:
    assert bucket_index_expression("$duration_ms") == {
        "$switch": {
            "branches": [
                {"case": {"$lte": ["$duration_ms", LOWEST_MS]}, "then": 0},
                {"case": {"$gt": ["$duration_ms", TOP_MS]}, "then": OVERFLOW_INDEX},
            ],
            "default": {
                "$ceil": {
                    "$divide": [
                        {"$ln": {"$divide": ["$duration_ms", LOWEST_MS]}},
                        math.log(GROWTH),
                    ]
                }
            },
        }
    }
