"""Cost builders without a database: unpriced models and reprice writes."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.pipelines.cost import (
    CostChange,
    log_cost_updates,
    rollup_cost_updates,
    session_cost_updates,
    unpriced_models_pipeline,
    user_cost_updates,
)
from app.pipelines.rollup import RollupDimensions, RollupPeriod, rollup_key

WHEN = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)

CHANGE = CostChange(
    call_key="p:c1",
    project_id="p",
    session_id="s",
    user_id="u",
    timestamp=WHEN,
    provider="acme",
    model="acme-large",
    environment="production",
    status="success",
    status_code=None,
    totals_applied=True,
    old_cost_usd=None,
    old_cost_source="unpriced",
    new_cost_usd=0.25,
    new_cost_source="custom",
    new_price_version="custom:acme-*@2026-01-01",
)


def test_unpriced_models_pipeline_matches_groups_and_ranks() -> None:
    match = {"project_id": "p", "timestamp": {"$gte": WHEN}}

    pipeline = unpriced_models_pipeline(match, limit=50)

    assert pipeline[0] == {
        "$match": {
            "project_id": "p",
            "timestamp": {"$gte": WHEN},
            "cost_source": "unpriced",
        }
    }
    assert pipeline[1]["$group"]["_id"] == {"provider": "$provider", "model": "$model"}
    assert pipeline[2] == {
        "$sort": {"call_count": -1, "_id.provider": 1, "_id.model": 1}
    }
    assert pipeline[3] == {"$limit": 50}
    assert match == {"project_id": "p", "timestamp": {"$gte": WHEN}}


def test_log_cost_updates_set_cost_source_and_version() -> None:
    (update,) = log_cost_updates([CHANGE])

    assert update._filter == {"_id": "p:c1"}
    assert update._doc == {
        "$set": {
            "cost_usd": 0.25,
            "cost_source": "custom",
            "price_version": "custom:acme-*@2026-01-01",
        }
    }


def test_session_cost_updates_sum_per_session_and_skip_pending_totals() -> None:
    changes = [
        CHANGE,
        replace(CHANGE, call_key="p:c2", old_cost_usd=0.5, new_cost_usd=0.75),
        replace(CHANGE, call_key="p:c3", session_id="other", new_cost_usd=0.0),
        replace(CHANGE, call_key="p:c4", session_id=None),
        replace(CHANGE, call_key="p:c5", totals_applied=False),
    ]

    updates = session_cost_updates(changes)

    # "other" changes by 0, so it is not written at all.
    assert [(update._filter, update._doc) for update in updates] == [
        ({"_id": "p:s"}, {"$inc": {"cost_usd": pytest.approx(0.5)}})
    ]
    assert all(not update._upsert for update in updates)


def test_rollup_cost_updates_move_calls_between_priced_and_unpriced() -> None:
    changes = [
        CHANGE,
        replace(CHANGE, call_key="p:c2", old_cost_usd=0.5, new_cost_usd=None),
        replace(CHANGE, call_key="p:c3", totals_applied=False),
    ]

    (update,) = rollup_cost_updates(changes)
    (daily,) = rollup_cost_updates(changes, RollupPeriod.DAY)

    dimensions = RollupDimensions(
        project_id="p",
        start=datetime(2026, 11, 1, 9, tzinfo=UTC),
        provider="acme",
        model="acme-large",
        environment="production",
        status="success",
        status_code=None,
        error_type=None,
    )
    assert update._filter == {"_id": rollup_key(dimensions)}
    assert daily._filter == {"_id": rollup_key(dimensions, RollupPeriod.DAY)}
    assert daily._doc == update._doc
    assert update._doc == {
        "$inc": {
            "cost_usd": pytest.approx(0.25 - 0.5),
            "priced_count": 0,
            "unpriced_count": 0,
        }
    }
    assert not update._upsert


def test_user_cost_updates_follow_the_same_rules_as_sessions() -> None:
    changes = [
        CHANGE,
        replace(CHANGE, call_key="p:c2", user_id=None),
        replace(CHANGE, call_key="p:c3", totals_applied=False),
    ]

    (update,) = user_cost_updates(changes)

    assert update._filter == {"_id": "p:u"}
    assert update._doc == {"$inc": {"cost_usd": pytest.approx(0.25)}}
