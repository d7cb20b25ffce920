"""Fixed log-spaced latency buckets that can be summed and read as percentiles.

Bucket 0 holds every value at or below `LOWEST_MS` (and anything that is not a
positive number). Bucket `i` for `1 <= i <= FINITE_BUCKETS` holds the values in
`(LOWEST_MS * GROWTH**(i - 1), LOWEST_MS * GROWTH**i]`, and the last bucket,
`OVERFLOW_INDEX`, everything above `TOP_MS` (about one hour). A bucket stands for
the geometric midpoint of its edges, so every value inside it is within
`sqrt(GROWTH) - 1` (0.995%) of that representative value; a percentile read from
summed counts is therefore within 1% of the exact nearest-rank percentile of the
raw values, as long as that percentile lies between `LOWEST_MS` and `TOP_MS`.

Histograms are stored as `{"<bucket index>": count}` with string keys (MongoDB
field names) and only non-empty buckets, and grow with `$inc` on
`"<field>.<index>"`. The constants are part of the stored format: changing them
means rebuilding every stored histogram.
"""

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LOWEST_MS = 0.1
GROWTH = 1.02
# ceil(log(3_600_000 / LOWEST_MS) / log(GROWTH)): enough buckets to pass one hour.
FINITE_BUCKETS = 879
OVERFLOW_INDEX = FINITE_BUCKETS + 1
BUCKET_COUNT = FINITE_BUCKETS + 2

# Upper edges of buckets 0..FINITE_BUCKETS; a table rather than a logarithm so
# that a value on an edge always lands in the same bucket.
_UPPER_EDGES = tuple(LOWEST_MS * GROWTH**index for index in range(FINITE_BUCKETS + 1))
TOP_MS = _UPPER_EDGES[-1]

Counts = Mapping[int, int] | Mapping[str, int]


def bucket_index(value_ms: float) -> int:
    """The bucket of `value_ms`: 0 up to `LOWEST_MS`, the last above `TOP_MS`."""
    # Written as a negated comparison so that NaN lands in bucket 0 too.
    if not value_ms > LOWEST_MS:
        return 0
    return bisect_left(_UPPER_EDGES, value_ms)


def bucket_value(index: int) -> float:
    """The value that bucket `index` stands for: the geometric midpoint of its edges.

    Bucket 0 stands for `LOWEST_MS` and the overflow bucket for `TOP_MS`, the
    closest bounds known for what they hold.

    Raises:
        ValueError: `index` is not a bucket of this scheme.
    """
    if index == 0:
        return LOWEST_MS
    if index == OVERFLOW_INDEX:
        return TOP_MS
    if 0 < index < OVERFLOW_INDEX:
        return math.sqrt(_UPPER_EDGES[index - 1] * _UPPER_EDGES[index])
    raise ValueError(f"{index} is not a latency bucket; valid: 0..{OVERFLOW_INDEX}")


def counts_of(values_ms: Iterable[float]) -> dict[str, int]:
    """The stored histogram of `values_ms`: non-empty buckets keyed by index string."""
    counter = Counter(bucket_index(value) for value in values_ms)
    return {str(index): counter[index] for index in sorted(counter)}


def merge_counts(*histograms: Counts) -> dict[str, int]:
    """Sum histograms bucket by bucket, keeping only buckets whose sum is not zero.

    Keys may be ints or index strings; the result uses index strings, in bucket
    order. Merging is associative and commutative, so roll-ups can be summed in
    any grouping.
    """
    totals: Counter[int] = Counter()
    for histogram in histograms:
        for key, count in histogram.items():
            totals[int(key)] += count
    return {str(index): totals[index] for index in sorted(totals) if totals[index]}


def nearest_rank(q: float, total: int) -> int:
    """The 1-based rank of the `q`-th percentile (0..100) among `total` sorted values.

    Nearest-rank definition: the smallest rank whose share of values reaches
    `q` percent, and at least 1. Rounding first keeps `95 * 100 / 100` from
    becoming 95.00000000000001 and moving to the next rank.
    """
    return max(1, math.ceil(round(q * total / 100, 9)))


def percentiles(
    histogram: Counts,
    qs: Sequence[float],
    *,
    floor: float | None = None,
    ceiling: float | None = None,
) -> dict[float, float | None]:
    """Nearest-rank percentiles `qs` (0..100) of a histogram, in one pass.

    Buckets whose count dropped to zero or below (after removals) are ignored.
    The true percentile never exceeds the maximum nor falls below the minimum,
    so keeping an estimate within `floor` and `ceiling` (the exact minimum and
    maximum, or bounds of them) only brings it closer: when every call took the
    same time, every percentile is that time exactly.

    Raises:
        ValueError: a `q` is outside 0..100, or a key is not a bucket index.
    """
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentile {q} is outside 0..100")
    populated = sorted(
        (int(index), count) for index, count in histogram.items() if count > 0
    )
    total = sum(count for _, count in populated)
    wanted = sorted(qs)
    found: dict[float, float | None] = dict.fromkeys(wanted)
    if total == 0:
        return found

    ranks = [(q, nearest_rank(q, total)) for q in wanted]
    position = 0
    seen = 0
    for index, count in populated:
        seen += count
        while position < len(ranks) and seen >= ranks[position][1]:
            value = bucket_value(index)
            if ceiling is not None and not math.isnan(ceiling):
                value = min(value, ceiling)
            if floor is not None and not math.isnan(floor):
                value = max(value, floor)
            found[ranks[position][0]] = value
            position += 1
    return found


def percentile_from_counts(counts: Counts, q: float) -> float | None:
    """The `q`-th percentile (0..100) of a histogram, or None when it is empty.

    Raises:
        ValueError: `q` is outside 0..100, or a key is not a bucket index.
    """
    return percentiles(counts, [q])[q]


def bucket_index_expression(field: str) -> dict[str, Any]:
    """An aggregation expression that computes `bucket_index` of `field` on the server.

    `field` is a field path such as `"$duration_ms"`. The server uses a
    logarithm instead of the edge table, so a value within rounding distance of
    an edge may land in the neighbouring bucket, which moves its estimate by at
    most one bucket width and keeps it inside the 1% bound.
    """
    return {
        "$switch": {
            "branches": [
                {"case": {"$lte": [field, LOWEST_MS]}, "then": 0},
                {"case": {"$gt": [field, TOP_MS]}, "then": OVERFLOW_INDEX},
            ],
            "default": {
                "$ceil": {
                    "$divide": [
                        {"$ln": {"$divide": [field, LOWEST_MS]}},
                        math.log(GROWTH),
                    ]
                }
            },
        }
    }
