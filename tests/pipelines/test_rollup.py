import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo import UpdateOne

from app.documents.log import CallError, Log
from app.documents.rollup import UsageRollup
from app.pipelines.histogram import bucket_index
from app.pipelines.rollup import RollupDimensions, rollup_key, rollup_updates

TEN_AM = datetime(2025, 6, 1, 10, tzinfo=UTC)


def make_log(**overrides: Any) -> Log:
    fields: dict[str, Any] = {
        "id": "p1:call",
        "call_id": "call",
        "project_id": "p1",
        "timestamp": TEN_AM,
        "received_at": TEN_AM,
        "provider": "openai",
        "model": "gpt-4o",
    }
    # Constructing without validation needs no `init_beanie`.
    log: Log = Log.model_construct(**(fields | overrides))
    return log


def update_doc(update: UpdateOne) -> Mapping[str, Any]:
    doc = update._doc
    assert isinstance(doc, Mapping)  # rollup updates are documents, not pipelines
    return doc


def key(hour: datetime, status: str = "success", status_code: int | None = 200) -> str:
    dimensions = RollupDimensions(
        "p1", hour, "openai", "gpt-4o", "production", status, status_code
    )
    return rollup_key(dimensions)


def dimensions_doc(
    hour: datetime, status: str = "success", status_code: int | None = 200
) -> dict[str, Any]:
    return {
        "project_id": "p1",
        "hour": hour,
        "provider": "openai",
        "model": "gpt-4o",
        "environment": "production",
        "status": status,
        "status_code": status_code,
    }


def counters(**amounts: float) -> dict[str, float]:
    zeros: dict[str, float] = {
        "call_count": 0,
        "error_count": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "cached_prompt_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "priced_count": 0,
        "unpriced_count": 0,
        "duration_count": 0,
        "ttft_count": 0,
        "cost_usd": 0.0,
        "duration_ms_sum": 0.0,
    }
    return zeros | amounts


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
                "$inc": counters(
                    call_count=2,
                    prompt_tokens=150,
                    completion_tokens=50,
                    total_tokens=200,
                    cached_prompt_tokens=40,
                    cache_write_tokens=5,
                    reasoning_tokens=10,
                    cost_usd=0.75,
                    priced_count=2,
                    duration_ms_sum=3000.0,
                    duration_count=2,
                    ttft_count=1,
                )
                | {
                    f"latency_hist.{bucket_index(1000.0)}": 1,
                    f"latency_hist.{bucket_index(2000.0)}": 1,
                    f"ttft_hist.{bucket_index(150.0)}": 1,
                },
                "$setOnInsert": dimensions_doc(TEN_AM),
                "$max": {"duration_max": 2000.0},
            },
            upsert=True,
        ),
        UpdateOne(
            {"_id": key(eleven_am)},
            {
                "$inc": counters(
                    call_count=1,
                    unpriced_count=1,
                    duration_ms_sum=1000.0,
                    duration_count=1,
                )
                | {f"latency_hist.{bucket_index(1000.0)}": 1},
                "$setOnInsert": dimensions_doc(eleven_am),
                "$max": {"duration_max": 1000.0},
            },
            upsert=True,
        ),
        UpdateOne(
            {"_id": key(TEN_AM, "error", 429)},
            {
                "$inc": counters(
                    call_count=1,
                    error_count=1,
                    priced_count=1,
                    duration_ms_sum=80.0,
                    duration_count=1,
                )
                | {f"latency_hist.{bucket_index(80.0)}": 1},
                "$setOnInsert": dimensions_doc(TEN_AM, "error", 429),
                "$max": {"duration_max": 80.0},
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
        "$inc": counters(call_count=1, unpriced_count=1),
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

    assert dimensions.hour == TEN_AM
    assert dimensions.hour.tzinfo is UTC


def test_a_naive_call_timestamp_is_read_as_utc() -> None:
    # As MongoDB returns it to a client that is not tz-aware.
    naive = datetime(2025, 6, 1, 10, 42, tzinfo=UTC).replace(tzinfo=None)
    log = make_log(timestamp=naive)

    assert RollupDimensions.of(log).hour == TEN_AM


def test_rollup_key_is_a_json_array_of_the_dimensions() -> None:
    dimensions = RollupDimensions.of(make_log(timestamp=TEN_AM + timedelta(minutes=7)))

    assert rollup_key(dimensions) == (
        '["p1","2025-06-01T10","openai","gpt-4o","production","success",null]'
    )
    assert json.loads(rollup_key(dimensions))[1] == "2025-06-01T10"


def test_rollup_keys_keep_dimensions_that_contain_separators_apart() -> None:
    first = RollupDimensions("p", TEN_AM, "openai", "ft:a", "b", "success", None)
    second = RollupDimensions("p", TEN_AM, "openai", "ft", "a:b", "success", None)
    quoted = RollupDimensions("p", TEN_AM, "openai", 'a","b', "c", "success", None)
    split = RollupDimensions("p", TEN_AM, "openai", "a", 'b","c', "success", None)

    assert rollup_key(first) != rollup_key(second)
    assert rollup_key(quoted) != rollup_key(split)


def test_usage_rollup_is_stored_by_project_and_hour() -> None:
    settings = UsageRollup.Settings

    assert settings.name == "usage_rollups_hourly"
    assert settings.use_state_management is False
    assert [index.document["key"] for index in settings.indexes] == [
        {"project_id": 1, "hour": 1}
    ]
