from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.errors import InvalidInput
from app.pipelines.rollup import RollupPeriod
from app.pipelines.usage import (
    UsageFilter,
    UsageSources,
    covered_by_rollups,
    distinct_count_pipeline,
    raw_match_stage,
    rollup_match_stage,
    usage_sources,
)

START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2025, 6, 8, tzinfo=UTC)


def usage_filter(**overrides: Any) -> UsageFilter:
    fields: dict[str, Any] = {"project_id": "p1", "start": START, "end": END}
    return UsageFilter(**(fields | overrides))


def test_raw_match_stage_starts_with_project_and_time_range() -> None:
    stage = raw_match_stage(usage_filter())

    assert stage == {
        "$match": {"project_id": "p1", "timestamp": {"$gte": START, "$lt": END}}
    }
    assert list(stage["$match"]) == ["project_id", "timestamp"]


def test_raw_match_stage_adds_every_narrowing_after_project_and_time() -> None:
    stage = raw_match_stage(
        usage_filter(
            providers=("openai",),
            models=("gpt-4o", "gpt-4o-mini"),
            environments=("production",),
            statuses=("error",),
            status_codes=(429, 500),
            user_ids=("u1",),
            session_ids=("s1",),
            error_types=("rate_limit",),
            tags=("beta", "eu"),
            metadata=(("team", "search"), ("tier", 2), ("team", "ads")),
            cost_sources=("price_table", "custom"),
        )
    )

    assert stage == {
        "$match": {
            "project_id": "p1",
            "timestamp": {"$gte": START, "$lt": END},
            "provider": {"$in": ["openai"]},
            "model": {"$in": ["gpt-4o", "gpt-4o-mini"]},
            "environment": {"$in": ["production"]},
            "status": {"$in": ["error"]},
            "status_code": {"$in": [429, 500]},
            "user_id": {"$in": ["u1"]},
            "session_id": {"$in": ["s1"]},
            "error.type": {"$in": ["rate_limit"]},
            "tags": {"$all": ["beta", "eu"]},
            "metadata.team": {"$in": ["search", "ads"]},
            "metadata.tier": {"$in": [2]},
            "cost_source": {"$in": ["price_table", "custom"]},
        }
    }
    assert list(stage["$match"])[:2] == ["project_id", "timestamp"]


def test_a_filter_range_is_stored_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))

    converted = UsageFilter(
        project_id="p1",
        start=datetime(2025, 6, 1, 9, tzinfo=tokyo),
        end=datetime(2025, 6, 2, 9, tzinfo=tokyo),
    )

    assert converted.start == START
    assert converted.start.tzinfo is UTC
    assert converted.end.tzinfo is UTC


def test_a_naive_range_is_invalid_input() -> None:
    naive = START.replace(tzinfo=None)

    with pytest.raises(InvalidInput, match="UTC offset"):
        UsageFilter(project_id="p1", start=naive, end=END)


def test_a_reversed_range_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="swap start and end"):
        UsageFilter(project_id="p1", start=END, end=START)


@pytest.mark.parametrize("key", ["a.b", "$where", "", "nul\0"])
def test_metadata_keys_that_would_change_the_field_path_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be filtered on"):
        usage_filter(metadata=((key, "x"),))


def test_metadata_values_that_are_not_scalars_are_refused() -> None:
    operator: Any = {"$ne": None}

    with pytest.raises(InvalidInput, match="string, number or boolean"):
        usage_filter(metadata=(("team", operator),))


def test_roll_ups_cover_hour_aligned_filters_on_their_dimensions() -> None:
    narrowed = usage_filter(
        providers=("openai",),
        models=("gpt-4o",),
        environments=("production",),
        statuses=("success",),
        status_codes=(200,),
        error_types=("rate_limit",),
    )

    assert covered_by_rollups(usage_filter())
    assert covered_by_rollups(narrowed, ["model", "status_code", "error_type"])


@pytest.mark.parametrize(
    "narrowing",
    [
        {"user_ids": ("u1",)},
        {"session_ids": ("s1",)},
        {"tags": ("beta",)},
        {"metadata": (("team", "search"),)},
        {"cost_sources": ("custom",)},
    ],
)
def test_roll_ups_do_not_cover_filters_on_other_fields(
    narrowing: dict[str, Any],
) -> None:
    assert not covered_by_rollups(usage_filter(**narrowing))


def test_roll_ups_cover_a_range_that_is_not_on_utc_hours() -> None:
    # Its partial hours are read from raw calls (see usage_sources).
    half_past = START + timedelta(minutes=30)

    assert covered_by_rollups(usage_filter(start=half_past))


@pytest.mark.parametrize("name", ["user_id", "session_id", "tag", "metadata"])
def test_roll_ups_do_not_cover_grouping_by_other_fields(name: str) -> None:
    assert not covered_by_rollups(usage_filter(), ["provider", name])


def test_roll_ups_cover_time_buckets_only_when_each_starts_on_a_utc_hour() -> None:
    paris_days = [
        datetime(2025, 5, 31, 22, tzinfo=UTC),
        datetime(2025, 6, 1, 22, tzinfo=UTC),
    ]
    kolkata_hours = [datetime(2025, 6, 1, 9, 30, tzinfo=UTC)]

    assert covered_by_rollups(usage_filter(), bucket_starts=paris_days)
    assert not covered_by_rollups(usage_filter(), bucket_starts=kolkata_hours)


def test_rollup_match_stage_selects_hours_and_dimensions() -> None:
    stage = rollup_match_stage(
        usage_filter(providers=("openai",), statuses=("error",), status_codes=(429,))
    )

    assert stage == {
        "$match": {
            "project_id": "p1",
            "hour": {"$gte": START, "$lt": END},
            "provider": {"$in": ["openai"]},
            "status": {"$in": ["error"]},
            "status_code": {"$in": [429]},
        }
    }


def test_rollup_match_stage_of_days_and_several_ranges_repeats_the_project() -> None:
    first = (START, START + timedelta(days=1))
    last = (END - timedelta(days=1), END)

    stage = rollup_match_stage(
        usage_filter(error_types=("Timeout",)), RollupPeriod.DAY, [first, last]
    )

    assert stage == {
        "$match": {
            "$or": [
                {"project_id": "p1", "day": {"$gte": first[0], "$lt": first[1]}},
                {"project_id": "p1", "day": {"$gte": last[0], "$lt": last[1]}},
            ],
            "error_type": {"$in": ["Timeout"]},
        }
    }


def test_raw_match_stage_of_two_edges_lets_each_branch_use_the_index() -> None:
    edges = [(START, START + timedelta(minutes=20)), (END - timedelta(minutes=5), END)]

    stage = raw_match_stage(usage_filter(models=("gpt-4o",)), edges)

    assert stage == {
        "$match": {
            "$or": [
                {"project_id": "p1", "timestamp": {"$gte": start, "$lt": end}}
                for start, end in edges
            ],
            "model": {"$in": ["gpt-4o"]},
        }
    }


def test_distinct_count_pipeline_counts_non_null_values_of_the_field() -> None:
    assert distinct_count_pipeline(usage_filter(), "user_id") == [
        {
            "$match": {
                "project_id": "p1",
                "timestamp": {"$gte": START, "$lt": END},
                "user_id": {"$ne": None},
            }
        },
        {"$group": {"_id": "$user_id"}},
        {"$count": "count"},
    ]


def test_distinct_count_keeps_a_narrowing_on_the_same_field() -> None:
    pipeline = distinct_count_pipeline(usage_filter(user_ids=("u1", "u2")), "user_id")

    assert pipeline[0]["$match"]["user_id"] == {"$in": ["u1", "u2"]}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_sources_of_a_filter_roll_ups_cannot_answer_are_all_raw() -> None:
    sources = usage_sources(usage_filter(), covered=False)

    assert sources == UsageSources(raw=((START, END),))


def test_sources_split_days_hours_and_partial_hours() -> None:
    sources = usage_sources(
        usage_filter(start=at("2025-06-01T09:30"), end=at("2025-06-04T10:45")),
        covered=True,
    )

    assert sources == UsageSources(
        raw=(
            (at("2025-06-01T09:30"), at("2025-06-01T10:00")),
            (at("2025-06-04T10:00"), at("2025-06-04T10:45")),
        ),
        hourly=(
            (at("2025-06-01T10:00"), at("2025-06-02T00:00")),
            (at("2025-06-04T00:00"), at("2025-06-04T10:00")),
        ),
        daily=((at("2025-06-02T00:00"), at("2025-06-04T00:00")),),
    )


def test_sources_of_whole_days_are_daily_roll_ups_only() -> None:
    sources = usage_sources(usage_filter(), covered=True)

    assert sources == UsageSources(daily=((START, END),))


def test_sources_without_a_whole_hour_are_one_raw_range() -> None:
    within = usage_filter(start=at("2025-06-01T09:10"), end=at("2025-06-01T09:50"))
    across = usage_filter(start=at("2025-06-01T09:10"), end=at("2025-06-01T10:50"))

    assert usage_sources(within, covered=True) == UsageSources(
        raw=((within.start, within.end),)
    )
    assert usage_sources(across, covered=True) == UsageSources(
        raw=((across.start, across.end),)
    )


def test_sources_of_an_empty_range_are_empty() -> None:
    assert usage_sources(usage_filter(end=START), covered=True) == UsageSources()


def test_buckets_that_start_inside_a_utc_day_keep_the_days_hourly() -> None:
    paris_days = [at("2025-05-31T22:00"), at("2025-06-01T22:00")]
    utc_days = [START, START + timedelta(days=1)]
    one_day = usage_filter(end=START + timedelta(days=2))

    assert usage_sources(one_day, covered=True, bucket_starts=paris_days) == (
        UsageSources(hourly=((one_day.start, one_day.end),))
    )
    assert usage_sources(one_day, covered=True, bucket_starts=utc_days) == (
        UsageSources(daily=((one_day.start, one_day.end),))
    )


def test_rollup_match_stage_refuses_a_filter_roll_ups_cannot_answer() -> None:
    with pytest.raises(ValueError, match="needs raw calls"):
        rollup_match_stage(usage_filter(user_ids=("u1",)))
