import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo import UpdateOne

from app.documents.log import CallError, Log
from app.documents.rollup import DailyUsageRollup, UsageRollup
from app.pipelines.histogram import bucket_index
from app.pipelines.rollup import (
    RollupDimensions,
    RollupPeriod,
    latest_call_marker,
    rollup_key,
    rollup_updates,
)
from tests.pipelines.logs import TEN_AM, make_log


def update_doc(update: UpdateOne) -> Mapping[str, Any]:
    doc = update._doc
    assert isinstance(doc, Mapping)  # rollup updates are documents, not pipelines
    return doc


def key(
    hour: datetime,
    status: str = "success",
    status_code: int | None = 200,
    error_type: str | None = None,
) -> str:
    dimensions = RollupDimensions(
        "p1", hour, "openai", "gpt-4o", "production", status, status_code, error_type
    )
    return rollup_key(dimensions)


def dimensions_doc(
    hour: datetime,
    status: str = "success",
    status_code: int | None = 200,
    error_type: str | None = None,
) -> dict[str, Any]:
    return {
        "project_id": "p1",
        "provider": "openai",
        "model": "gpt-4o",
        "environment": "production",
        "status": status,
        "status_code": status_code,
        "error_type": error_type,
        "hour": hour,
    }


def crafted_batch() -> list[Log]:
    return [
        make_log(
            timestamp=TEN_AM + timedelta(minutes=5),
            status_code=200,
            prompt_tokens=100,
            completion_tokens=20,
            total_tokens=120,
            cached_prompt_tokens=40,
            cost_usd=0.25,
            duration_ms=1000.0,
            time_to_first_token_ms=150.0,
        ),
        make_log(
            timestamp=TEN_AM + timedelta(minutes=59, seconds=59),
            status_code=200,
            prompt_tokens=50,
            completion_tokens=30,
            total_tokens=80,
            reasoning_tokens=10,
            cache_write_tokens=5,
            cost_usd=0.5,
            duration_ms=2000.0,
        ),
        make_log(
            timestamp=TEN_AM + timedelta(hours=1),
            status_code=200,
            duration_ms=1000.0,
        ),
        make_log(
            timestamp=TEN_AM + timedelta(minutes=30),
            status="error",
            status_code=429,
            error=CallError(type="rate_limit"),
            duration_ms=80.0,
            cost_usd=0.0,
        ),
    ]


def test_a_batch_becomes_one_upsert_per_distinct_rollup_key() -> None:
    eleven_am = TEN_AM + timedelta(hours=1)

    updates = rollup_updates(crafted_batch())

    assert updates == [
        UpdateOne(
            {"_id": key(TEN_AM)},
            {
                "$inc": {
                    "call_count": 2,
                    "prompt_tokens": 150,
                    "completion_tokens": 50,
                    "total_tokens": 200,
                    "cached_prompt_tokens": 40,
                    "cache_write_tokens": 5,
                    "reasoning_tokens": 10,
                    "priced_count": 2,
                    "duration_count": 2,
                    "ttft_count": 1,
                    "cost_usd": 0.75,
                    "duration_ms_sum": 3000.0,
                    f"latency_hist.{bucket_index(1000.0)}": 1,
                    f"latency_hist.{bucket_index(2000.0)}": 1,
                    f"ttft_hist.{bucket_index(150.0)}": 1,
                },
                "$setOnInsert": dimensions_doc(TEN_AM),
                "$max": {"duration_max": 2000.0},
                "$min": {"duration_min": 1000.0},
            },
            upsert=True,
        ),
        UpdateOne(
            {"_id": key(eleven_am)},
            {
                "$inc": {
                    "call_count": 1,
                    "unpriced_count": 1,
                    "duration_count": 1,
                    "duration_ms_sum": 1000.0,
                    f"latency_hist.{bucket_index(1000.0)}": 1,
                },
                "$setOnInsert": dimensions_doc(eleven_am),
                "$max": {"duration_max": 1000.0},
                "$min": {"duration_min": 1000.0},
            },
            upsert=True,
        ),
        UpdateOne(
            {"_id": key(TEN_AM, "error", 429, "rate_limit")},
            {
                "$inc": {
                    "call_count": 1,
                    "error_count": 1,
                    "priced_count": 1,
                    "duration_count": 1,
                    "duration_ms_sum": 80.0,
                    f"latency_hist.{bucket_index(80.0)}": 1,
                },
                "$setOnInsert": dimensions_doc(TEN_AM, "error", 429, "rate_limit"),
                "$max": {
                    "duration_max": 80.0,
                    "latest_error": "2025-06-01T10:30:00.000Z|call",
                },
                "$min": {"duration_min": 80.0},
            },
            upsert=True,
        ),
    ]


def test_calls_in_one_bucket_add_up_in_the_histogram_increment() -> None:
    logs = [make_log(duration_ms=1000.0), make_log(duration_ms=1000.1)]

    (update,) = rollup_updates(logs)

    assert update_doc(update)["$inc"][f"latency_hist.{bucket_index(1000.0)}"] == 2


def test_a_call_without_usage_duration_or_price_is_counted_as_unpriced() -> None:
    (update,) = rollup_updates([make_log(status_code=None)])

    assert update._doc == {
        "$inc": {"call_count": 1, "unpriced_count": 1},
        "$setOnInsert": dimensions_doc(TEN_AM, status_code=None),
    }


def test_negative_sign_subtracts_the_same_totals_without_upserting() -> None:
    batch = crafted_batch()
    additions = rollup_updates(batch)

    removals = rollup_updates(batch, sign=-1)

    assert len(removals) == len(additions)
    for added, removed in zip(additions, removals, strict=True):
        assert removed._filter == added._filter
        assert removed._upsert is False
        negated = {path: -amount for path, amount in update_doc(added)["$inc"].items()}
        assert removed._doc == {"$inc": negated}


@pytest.mark.parametrize("sign", [0, 2, -2])
def test_a_sign_other_than_plus_or_minus_one_is_refused(sign: int) -> None:
    with pytest.raises(ValueError, match="sign must be 1 or -1"):
        rollup_updates([make_log()], sign=sign)


def test_an_empty_batch_needs_no_updates() -> None:
    assert rollup_updates([]) == []


def test_dimensions_use_the_utc_hour_of_the_call() -> None:
    paris_summer = timezone(timedelta(hours=2))
    log = make_log(timestamp=datetime(2025, 6, 1, 12, 59, 59, tzinfo=paris_summer))

    dimensions = RollupDimensions.of(log)

    assert dimensions.start == TEN_AM
    assert dimensions.start.tzinfo is UTC


def test_a_naive_call_timestamp_is_read_as_utc() -> None:
    # As MongoDB returns it to a client that is not tz-aware.
    naive = datetime(2025, 6, 1, 10, 42, tzinfo=UTC).replace(tzinfo=None)
    log = make_log(timestamp=naive)

    assert RollupDimensions.of(log).start == TEN_AM


def test_rollup_key_is_a_json_array_of_the_dimensions() -> None:
    dimensions = RollupDimensions.of(make_log(timestamp=TEN_AM + timedelta(minutes=7)))

    assert rollup_key(dimensions) == (
        '["p1","2025-06-01T10","openai","gpt-4o","production","success",null,null]'
    )
    assert json.loads(rollup_key(dimensions))[1] == "2025-06-01T10"


def test_rollup_keys_keep_dimensions_that_contain_separators_apart() -> None:
    def dimensions(model: str, environment: str) -> RollupDimensions:
        return RollupDimensions(
            "p", TEN_AM, "openai", model, environment, "success", None, None
        )

    first = dimensions("ft:a", "b")
    second = dimensions("ft", "a:b")
    quoted = dimensions('a","b', "c")
    split = dimensions("a", 'b","c')

    assert rollup_key(first) != rollup_key(second)
    assert rollup_key(quoted) != rollup_key(split)


def test_usage_rollup_is_stored_by_project_and_hour() -> None:
    settings = UsageRollup.Settings

    assert settings.name == "usage_rollups_hourly"
    assert settings.use_state_management is False
    assert [index.document["key"] for index in settings.indexes] == [
        {"project_id": 1, "hour": 1}
    ]


def test_usage_rollup_daily_is_stored_by_project_and_day() -> None:
    settings = DailyUsageRollup.Settings

    assert settings.name == "usage_rollups_daily"
    assert [index.document["key"] for index in settings.indexes] == [
        {"project_id": 1, "day": 1}
    ]


def test_daily_updates_key_and_stamp_the_utc_day() -> None:
    late = make_log(timestamp=datetime(2025, 6, 1, 23, 59, 59, tzinfo=UTC))
    early = make_log(timestamp=datetime(2025, 6, 1, 0, 0, tzinfo=UTC))

    (update,) = rollup_updates([late, early], period=RollupPeriod.DAY)

    midnight = datetime(2025, 6, 1, tzinfo=UTC)
    assert update._filter == {
        "_id": '["p1","2025-06-01","openai","gpt-4o","production","success",null,null]'
    }
    assert update_doc(update)["$setOnInsert"]["day"] == midnight
    assert "hour" not in update_doc(update)["$setOnInsert"]
    assert update_doc(update)["$inc"]["call_count"] == 2


def test_errors_are_keyed_by_their_type_and_remember_the_newest() -> None:
    def error(minute: int, call_id: str) -> Log:
        return make_log(
            call_id=call_id,
            timestamp=TEN_AM + timedelta(minutes=minute, milliseconds=7),
            status="error",
            status_code=500,
            error=CallError(type="Overloaded"),
        )

    (update,) = rollup_updates([error(5, "b"), error(40, "a"), error(20, "c")])

    assert json.loads(update._filter["_id"])[-2:] == [500, "Overloaded"]
    assert update_doc(update)["$max"] == {"latest_error": "2025-06-01T10:40:00.007Z|a"}


def test_latest_call_marker_orders_like_the_timestamps() -> None:
    earlier = make_log(
        call_id="z", timestamp=datetime(2025, 6, 1, 9, 59, 59, 999000, tzinfo=UTC)
    )
    later = make_log(call_id="a", timestamp=datetime(2025, 6, 1, 10, 0, tzinfo=UTC))

    assert latest_call_marker(earlier) == "2025-06-01T09:59:59.999Z|z"
    assert latest_call_marker(later) > latest_call_marker(earlier)
