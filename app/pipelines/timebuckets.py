"""Time buckets in an IANA time zone, computed in Python.

The embedded store has no `$dateTrunc` with a `timezone`, so the edges of every
local bucket are computed here, as UTC instants, and rows are assigned to them
with `bucket_of`. Minutes and hours step in absolute time, so a day on which
clocks change has 23 or 25 hourly buckets; days, weeks (ISO, starting Monday)
and months start at local midnight, so such a day is one bucket 23 or 25 hours
long.
"""

import enum
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import InvalidInput


class Granularity(enum.Enum):
    """The width of one time bucket."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The longest range each granularity may cover, which bounds a series to at most
# 1,440 minutes, 744 hours, 731 days, 262 weeks or 121 months.
MAX_SPAN: dict[Granularity, timedelta] = {
    Granularity.MINUTE: timedelta(days=1),
    Granularity.HOUR: timedelta(days=31),
    Granularity.DAY: timedelta(days=731),
    Granularity.WEEK: timedelta(days=1827),
    Granularity.MONTH: timedelta(days=3653),
}

_COARSER = dict(zip(list(Granularity)[:-1], list(Granularity)[1:], strict=True))
_FIXED_STEP = {
    Granularity.MINUTE: timedelta(minutes=1),
    Granularity.HOUR: timedelta(hours=1),
}


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`.

    Raises:
        InvalidInput: no such zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError covers keys that are not zone names at all, such as "../x".
        message = (
            f"unknown time zone {name!r}; "
            "use an IANA name such as 'Europe/Paris' or 'UTC'"
        )
        raise InvalidInput(message) from None


def check_span(start: datetime, end: datetime, granularity: Granularity) -> None:
    """Refuse a range longer than `MAX_SPAN` allows for `granularity`.

    Raises:
        InvalidInput: the range is too long; the message says how to fix it.
    """
    limit = MAX_SPAN[granularity]
    if end - start <= limit:
        return

    days = f"{limit.days} day" + ("s" if limit.days > 1 else "")
    advice = "narrow the range"
    coarser = _COARSER.get(granularity)
    if coarser is not None:
        advice += f" or use {coarser.name} granularity"
    message = (
        f"a range for {granularity.name} buckets may span at most {days}; {advice}"
    )
    raise InvalidInput(message)


def bucket_starts(
    start: datetime, end: datetime, granularity: Granularity, tz: str
) -> list[datetime]:
    """The UTC starts of the local buckets that cover `[start, end)`, in order.

    The first bucket is the one that contains `start`, so it may begin before
    it; a bucket that begins at or after `end` is not included. An empty range
    has no buckets.

    Raises:
        InvalidInput: a naive datetime, an unknown zone, or a range too long for
            the granularity (see `MAX_SPAN`).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start and end of the range need a UTC offset")
    zone = time_zone(tz)
    if start >= end:
        return []
    check_span(start, end, granularity)

    step = _FIXED_STEP.get(granularity)
    if step is not None:
        remainder = _local_remainder(start.astimezone(zone), granularity)
        first = start.astimezone(UTC) - remainder
        count = -(-(end - first) // step)
        return [first + step * index for index in range(count)]

    starts = []
    for day in _local_start_dates(start.astimezone(zone).date(), granularity):
        bucket_start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        if bucket_start >= end:
            break
        starts.append(bucket_start)
    return starts


def bucket_of(ts: datetime, starts: Sequence[datetime]) -> int:
    """The index of the bucket in `starts` that contains `ts`.

    The last bucket is open-ended: the caller has already filtered on the end
    of the range. A naive `ts` is read as UTC, since that is how MongoDB returns
    dates to a client that is not time-zone aware.

    Raises:
        ValueError: `ts` is before the first bucket.
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    index = bisect_right(starts, ts) - 1
    if index < 0:
        raise ValueError(f"{ts.isoformat()} is before the first bucket")
    return index


def floor_to_utc_hour(ts: datetime) -> datetime:
    """The start of the UTC hour that contains `ts`; a naive `ts` is read as UTC."""
    utc = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def is_utc_hour(ts: datetime) -> bool:
    """Whether `ts` is exactly the start of a UTC hour."""
    return floor_to_utc_hour(ts) == ts


def _local_remainder(local: datetime, granularity: Granularity) -> timedelta:
    # Read from the local wall clock, so hours align with zones whose offset is
    # not a whole hour (Asia/Kolkata), and subtracted from the UTC instant, so
    # an ambiguous wall time during a clock change cannot pick the wrong side.
    remainder = timedelta(seconds=local.second, microseconds=local.microsecond)
    if granularity is Granularity.HOUR:
        remainder += timedelta(minutes=local.minute)
    return remainder


def _local_start_dates(first_day: date, granularity: Granularity) -> Iterator[date]:
    if granularity is Granularity.DAY:
        day = first_day
        while True:
            yield day
            day += timedelta(days=1)
    elif granularity is Granularity.WEEK:
        monday = first_day - timedelta(days=first_day.weekday())
        while True:
            yield monday
            monday += timedelta(weeks=1)
    else:
        year, month = first_day.year, first_day.month
        while True:
            yield date(year, month, 1)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
