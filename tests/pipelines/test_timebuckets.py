from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from app.errors import InvalidInput
from app.pipelines.timebuckets import (
    MAX_SPAN,
    Granularity,
    bucket_of,
    bucket_starts,
    floor_to_utc_hour,
    is_utc_hour,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local_day(
    day: datetime, zone: ZoneInfo, days: int = 1
) -> tuple[datetime, datetime]:
    """The UTC range of `days` local days starting on `day`'s date in `zone`."""
    start = datetime.combine(day.date(), time(), tzinfo=zone)
    end = datetime.combine(day.date() + timedelta(days=days), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def lengths_in_hours(starts: list[datetime], end: datetime) -> list[float]:
    edges = [*starts, end]
    return [
        (later - earlier) / timedelta(hours=1) for earlier, later in pairwise(edges)
    ]


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (PARIS, utc(2025, 3, 30), 23),
        (PARIS, utc(2025, 10, 26), 25),
        (NEW_YORK, utc(2025, 3, 9), 23),
        (NEW_YORK, utc(2025, 11, 2), 25),
    ],
)
def test_a_day_with_a_clock_change_has_23_or_25_hourly_buckets(
    zone: ZoneInfo, day: datetime, hours: int
) -> None:
    start, end = local_day(day, zone)

    starts = bucket_starts(start, end, Granularity.HOUR, str(zone))

    assert len(starts) == hours
    assert starts[0] == start
    assert lengths_in_hours(starts, end) == [1.0] * hours


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (PARIS, utc(2025, 3, 30), 23),
        (PARIS, utc(2025, 10, 26), 25),
        (NEW_YORK, utc(2025, 3, 9), 23),
        (NEW_YORK, utc(2025, 11, 2), 25),
    ],
)
def test_daily_buckets_start_at_local_midnight_across_a_clock_change(
    zone: ZoneInfo, day: datetime, hours: int
) -> None:
    start, end = local_day(day - timedelta(days=1), zone, days=3)

    starts = bucket_starts(start, end, Granularity.DAY, str(zone))

    assert lengths_in_hours(starts, end) == [24.0, hours, 24.0]
    assert all(start.astimezone(zone).time() == time() for start in starts)


def test_paris_spring_forward_day_starts_are_the_expected_utc_instants() -> None:
    starts = bucket_starts(
        utc(2025, 3, 29, 12), utc(2025, 3, 31, 12), Granularity.DAY, "Europe/Paris"
    )

    assert starts == [utc(2025, 3, 28, 23), utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)]


def test_weekly_buckets_start_on_monday_at_local_midnight() -> None:
    # A Wednesday in New York, four weeks that cross the March clock change.
    starts = bucket_starts(
        utc(2025, 3, 5, 15), utc(2025, 3, 30), Granularity.WEEK, "America/New_York"
    )

    assert starts == [
        utc(2025, 3, 3, 5),
        utc(2025, 3, 10, 4),
        utc(2025, 3, 17, 4),
        utc(2025, 3, 24, 4),
    ]
    for start in starts:
        local = start.astimezone(NEW_YORK)
        assert local.weekday() == 0
        assert local.time() == time()


def test_monthly_buckets_start_on_the_first_at_local_midnight_across_a_year() -> None:
    starts = bucket_starts(
        utc(2024, 11, 15), utc(2025, 4, 2), Granularity.MONTH, "Europe/Paris"
    )

    assert starts == [
        utc(2024, 10, 31, 23),
        utc(2024, 11, 30, 23),
        utc(2024, 12, 31, 23),
        utc(2025, 1, 31, 23),
        utc(2025, 2, 28, 23),
        utc(2025, 3, 31, 22),
    ]


def test_minute_buckets_cover_the_range_from_the_minute_that_contains_start() -> None:
    starts = bucket_starts(
        utc(2025, 6, 1, 10, 0, 30), utc(2025, 6, 1, 10, 3), Granularity.MINUTE, "UTC"
    )

    assert starts == [
        utc(2025, 6, 1, 10, 0),
        utc(2025, 6, 1, 10, 1),
        utc(2025, 6, 1, 10, 2),
    ]


def test_hourly_buckets_follow_local_hours_in_a_half_hour_zone() -> None:
    starts = bucket_starts(
        utc(2025, 6, 1, 10), utc(2025, 6, 1, 12), Granularity.HOUR, "Asia/Kolkata"
    )

    assert starts == [
        utc(2025, 6, 1, 9, 30),
        utc(2025, 6, 1, 10, 30),
        utc(2025, 6, 1, 11, 30),
    ]


def test_buckets_are_utc_aware_whatever_the_offset_of_the_range() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime(2025, 6, 1, 9, tzinfo=tokyo)

    starts = bucket_starts(start, start + timedelta(hours=2), Granularity.HOUR, "UTC")

    assert starts == [utc(2025, 6, 1, 0), utc(2025, 6, 1, 1)]
    assert all(start.tzinfo is UTC for start in starts)


@pytest.mark.parametrize("granularity", list(Granularity))
def test_an_empty_or_reversed_range_has_no_buckets(granularity: Granularity) -> None:
    moment = utc(2025, 6, 1, 10, 17)

    assert bucket_starts(moment, moment, granularity, "Europe/Paris") == []
    assert bucket_starts(moment, moment - timedelta(days=1), granularity, "UTC") == []


@pytest.mark.parametrize("granularity", list(Granularity))
def test_a_range_at_the_span_limit_is_accepted(granularity: Granularity) -> None:
    start = utc(2024, 1, 1)

    starts = bucket_starts(start, start + MAX_SPAN[granularity], granularity, "UTC")

    assert 0 < len(starts) <= 1_440


def test_too_many_minute_buckets_ask_for_a_narrower_range_or_hours() -> None:
    start = utc(2025, 6, 1)

    with pytest.raises(InvalidInput) as raised:
        bucket_starts(
            start, start + timedelta(days=1, minutes=1), Granularity.MINUTE, "UTC"
        )

    assert raised.value.message == (
        "a range for MINUTE buckets may span at most 1 day; "
        "narrow the range or use HOUR granularity"
    )


def test_too_many_month_buckets_ask_for_a_narrower_range() -> None:
    start = utc(2010, 1, 1)

    with pytest.raises(InvalidInput) as raised:
        bucket_starts(start, start + timedelta(days=3654), Granularity.MONTH, "UTC")

    assert raised.value.message == (
        "a range for MONTH buckets may span at most 3653 days; narrow the range"
    )


def test_every_granularity_has_a_span_limit() -> None:
    assert set(MAX_SPAN) == set(Granularity)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "../etc/passwd", ""])
def test_an_unknown_time_zone_is_invalid_input(name: str) -> None:
    with pytest.raises(InvalidInput, match="unknown time zone"):
        bucket_starts(utc(2025, 1, 1), utc(2025, 1, 2), Granularity.DAY, name)


def test_a_naive_range_is_invalid_input() -> None:
    naive = utc(2025, 1, 1).replace(tzinfo=None)

    with pytest.raises(InvalidInput, match="UTC offset"):
        bucket_starts(naive, utc(2025, 1, 2), Granularity.DAY, "UTC")


def test_bucket_of_finds_the_bucket_that_contains_a_timestamp() -> None:
    start, end = local_day(utc(2025, 10, 26), PARIS)
    starts = bucket_starts(start, end, Granularity.HOUR, "Europe/Paris")

    assert bucket_of(start, starts) == 0
    assert bucket_of(starts[3] - timedelta(microseconds=1), starts) == 2
    assert bucket_of(starts[3], starts) == 3
    assert bucket_of(end - timedelta(seconds=1), starts) == 24


def test_bucket_of_reads_a_naive_timestamp_as_utc() -> None:
    starts = [utc(2025, 1, 1), utc(2025, 1, 2)]

    # MongoDB returns naive UTC datetimes to a client that is not tz-aware.
    late_on_first_day = utc(2025, 1, 1, 23).replace(tzinfo=None)
    early_on_second_day = utc(2025, 1, 2, 1).replace(tzinfo=None)

    assert bucket_of(late_on_first_day, starts) == 0
    assert bucket_of(early_on_second_day, starts) == 1


def test_bucket_of_rejects_a_timestamp_before_the_first_bucket() -> None:
    with pytest.raises(ValueError, match="before the first bucket"):
        bucket_of(utc(2024, 12, 31), [utc(2025, 1, 1)])


def test_floor_to_utc_hour_converts_to_utc_first() -> None:
    paris_time = datetime(2025, 6, 1, 12, 45, 10, tzinfo=PARIS)

    assert floor_to_utc_hour(paris_time) == utc(2025, 6, 1, 10)
    assert floor_to_utc_hour(utc(2025, 6, 1, 12, 5).replace(tzinfo=None)) == utc(
        2025, 6, 1, 12
    )
    assert is_utc_hour(utc(2025, 6, 1, 12))
    assert not is_utc_hour(utc(2025, 6, 1, 12, 30))
