"""The outlier rules on small populations worked out by hand."""

import pytest

from app.errors import InvalidInput
from app.services.outliers import find_cut, nearest_rank, robust_spread


def test_nearest_rank_is_the_smallest_value_covering_the_share() -> None:
    assert nearest_rank(list(range(1, 101)), 99) == 99
    assert nearest_rank([4, 1, 3, 2], 50) == 2
    assert nearest_rank([4, 1, 3, 2], 51) == 3
    assert nearest_rank([7], 99) == 7


def test_mad_flags_a_value_far_above_the_median() -> None:
    # median 3; deviations 2 1 0 1 97 -> MAD 1 -> spread 1.4826
    cut = find_cut([1, 2, 3, 4, 100], "mad", 3.5)

    assert cut.median == 3
    assert cut.spread == pytest.approx(1.4826)
    assert cut.cutoff == pytest.approx(3 + 3.5 * 1.4826)
    assert cut.score(100) == pytest.approx(97 / 1.4826)
    assert cut.population == 5


def test_a_zero_mad_falls_back_to_the_mean_absolute_deviation() -> None:
    # six equal values and one 10: MAD 0; mean deviation 9/7
    values = [1.0] * 6 + [10.0]

    spread = robust_spread(values, 1.0)
    cut = find_cut(values, "mad", 3.5)

    assert spread == pytest.approx(1.2533 * 9 / 7)
    assert cut.cutoff == pytest.approx(1 + 3.5 * 1.2533 * 9 / 7)
    assert (cut.cutoff or 0) < 10


def test_identical_values_have_no_outliers() -> None:
    mad = find_cut([2.0] * 5, "mad", 3.5)
    percentile = find_cut([2.0] * 5, "percentile", 99)

    assert mad.cutoff is None
    assert mad.spread is None
    assert percentile.cutoff == 2.0  # nothing is strictly above it


def test_the_percentile_rule_cuts_at_the_nearest_rank() -> None:
    cut = find_cut([float(value) for value in range(1, 101)], "percentile", 95)

    assert cut.cutoff == 95.0
    assert cut.median == 50.5


def test_an_empty_population_has_no_cut() -> None:
    cut = find_cut([], "mad", 3.5)

    assert (cut.population, cut.median, cut.cutoff) == (0, None, None)


@pytest.mark.parametrize(
    ("method", "threshold"),
    [("mad", 0.0), ("mad", -1.0), ("percentile", 0.0), ("percentile", 100.0)],
)
def test_thresholds_out_of_range_are_refused(method: str, threshold: float) -> None:
    with pytest.raises(InvalidInput, match="threshold"):
        find_cut([1.0, 2.0], method, threshold)  # type: ignore[arg-type]  # a str from the table
