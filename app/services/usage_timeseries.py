"""Usage over time: one point per local time bucket, empty buckets included."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.pipelines.timebuckets import Granularity, bucket_of, bucket_starts
from app.pipelines.usage import UsageFilter
from app.pipelines.usage_measures import UsageSummary, UsageTotals, summarize
from app.pipelines.usage_rows import NO_GROUPING, Grouping, GroupKey, fold
from app.services.usage import UsageQuery, UsageReader
from app.services.usage_breakdown import check_grouping, check_limit, rank

# A span longer than any bucket of the granularity, to find where the last
# bucket ends.
_LONGER_THAN_A_BUCKET = {
    Granularity.MINUTE: timedelta(minutes=2),
    Granularity.HOUR: timedelta(hours=2),
    Granularity.DAY: timedelta(days=2),
    Granularity.WEEK: timedelta(days=8),
    Granularity.MONTH: timedelta(days=32),
}


@dataclass(frozen=True)
class UsageSeries:
    """One group's measures per bucket, in bucket order; `is_other` sums the rest."""

    group: GroupKey
    points: list[UsageSummary]
    is_other: bool = False


@dataclass(frozen=True)
class UsageTimeSeries:
    """Bucket edges (UTC instants of local bucket starts) and one series per group.

    `bucket_ends[i]` is where bucket `i` ends, so a bucket that spans a
    daylight-saving change shows its 23 or 25 hours. Only calls inside the
    filter's range are counted, also in a first or last bucket that reaches
    beyond it.
    """

    granularity: Granularity
    time_zone: str
    bucket_starts: list[datetime]
    bucket_ends: list[datetime]
    series: list[UsageSeries]


async def usage_time_series(
    reader: UsageReader,
    usage_filter: UsageFilter,
    *,
    granularity: Granularity,
    time_zone: str = "UTC",
    grouping: Grouping = NO_GROUPING,
    limit: int = 10,
    with_percentiles: bool = True,
) -> UsageTimeSeries:
    """Measures per time bucket of `granularity` in `time_zone`, zero where empty.

    Without a grouping there is one series, the total. With one, the `limit`
    groups with most calls over the whole range get a series each, and the
    rest are summed into an "other" series.

    Raises:
        InvalidInput: an unknown zone, a range too long for the granularity, a
            repeated grouping, or a limit outside 1..`MAX_GROUPS`.
    """
    if grouping.dimensions:
        check_grouping(grouping)
    check_limit(limit)
    starts = bucket_starts(usage_filter.start, usage_filter.end, granularity, time_zone)
    ends = _bucket_ends(starts, granularity, time_zone)
    if not starts:
        return UsageTimeSeries(granularity, time_zone, [], [], [])

    query = UsageQuery(
        usage_filter,
        grouping,
        bucket_starts=tuple(starts),
        with_histograms=with_percentiles,
    )
    rows = await reader.rows(query)
    by_group = fold(rows, lambda row: row.group)
    cells = fold(rows, lambda row: (row.group, _bucket(row.slot, starts)))

    top, rest = rank(
        by_group,
        measure=lambda summary: summary.calls,
        limit=limit,
        with_percentiles=False,
    )
    series = [
        UsageSeries(
            grouped.group,
            _points(
                [cells.get((grouped.group, index)) for index in range(len(starts))],
                with_percentiles,
            ),
        )
        for grouped in top
    ]
    if not grouping.dimensions and not series:
        series = [UsageSeries((), _points([None] * len(starts), with_percentiles))]
    if rest is not None:
        kept = {grouped.group for grouped in top}
        other_cells = fold(
            (row for row in rows if row.group not in kept),
            lambda row: _bucket(row.slot, starts),
        )
        points = [other_cells.get(index) for index in range(len(starts))]
        nulls = tuple(None for _ in grouping.dimensions)
        series.append(
            UsageSeries(nulls, _points(points, with_percentiles), is_other=True)
        )
    return UsageTimeSeries(granularity, time_zone, starts, ends, series)


def _bucket(slot: datetime | None, starts: list[datetime]) -> int:
    if slot is None:  # pragma: no cover - rows of a time series always have slots
        raise ValueError("a time-series row has no slot")
    return bucket_of(slot, starts)


def _points(
    cells: list[UsageTotals | None], with_percentiles: bool
) -> list[UsageSummary]:
    return [
        summarize(cell, with_percentiles=with_percentiles)
        if cell is not None
        else UsageSummary()
        for cell in cells
    ]


def _bucket_ends(
    starts: list[datetime], granularity: Granularity, time_zone: str
) -> list[datetime]:
    if not starts:
        return []
    last = starts[-1]
    following = bucket_starts(
        last, last + _LONGER_THAN_A_BUCKET[granularity], granularity, time_zone
    )
    return [*starts[1:], following[1]]
