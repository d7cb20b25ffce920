"""Builders for cost questions: unpriced models, and the writes a reprice makes."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import UpdateOne

from app.documents.log import CostSource
from app.documents.session import session_key
from app.documents.user import user_key
from app.pipelines import Pipeline
from app.pipelines.rollup import RollupDimensions, RollupPeriod, rollup_key


class UnpricedModelRow(BaseModel):
    """One provider and model whose calls have no price, with how many and when."""

    provider: str
    model: str
    call_count: int
    first_seen: datetime
    last_seen: datetime


def unpriced_models_pipeline(match: dict[str, Any], *, limit: int) -> Pipeline:
    """Count unpriced calls per provider and model among those `match` selects.

    `match` must scope to one project (and should bound the time); the stage
    adds the `cost_source` condition itself. Most calls first.
    """
    return [
        {"$match": {**match, "cost_source": "unpriced"}},
        {
            "$group": {
                "_id": {"provider": "$provider", "model": "$model"},
                "call_count": {"$sum": 1},
                "first_seen": {"$min": "$timestamp"},
                "last_seen": {"$max": "$timestamp"},
            }
        },
        {"$sort": {"call_count": -1, "_id.provider": 1, "_id.model": 1}},
        {"$limit": limit},
        {
            "$project": {
                "_id": 0,
                "provider": "$_id.provider",
                "model": "$_id.model",
                "call_count": 1,
                "first_seen": 1,
                "last_seen": 1,
            }
        },
    ]


@dataclass(frozen=True, slots=True)
class CostChange:
    """One stored call whose price changes, with what its totals were counted under."""

    call_key: str
    project_id: str
    session_id: str | None
    user_id: str | None
    timestamp: datetime
    provider: str
    model: str
    environment: str
    status: str
    status_code: int | None
    totals_applied: bool
    old_cost_usd: float | None
    old_cost_source: CostSource
    new_cost_usd: float | None
    new_cost_source: CostSource
    new_price_version: str | None
    error_type: str | None = None

    @property
    def cost_delta_usd(self) -> float:
        """What the totals change by; an unpriced call counts as 0 in sums."""
        return (self.new_cost_usd or 0.0) - (self.old_cost_usd or 0.0)


def log_cost_updates(changes: Iterable[CostChange]) -> list[UpdateOne]:
    """Set each call's new cost, source and price version."""
    return [
        UpdateOne(
            {"_id": change.call_key},
            {
                "$set": {
                    "cost_usd": change.new_cost_usd,
                    "cost_source": change.new_cost_source,
                    "price_version": change.new_price_version,
                }
            },
        )
        for change in changes
    ]


def session_cost_updates(changes: Iterable[CostChange]) -> list[UpdateOne]:
    """One `$inc` of `cost_usd` per session whose calls' totals include the change.

    Calls whose totals are not applied yet are left out: when their totals are
    applied, the stored (new) cost is what gets added.
    """
    return _cost_incs(
        (session_key(change.project_id, change.session_id), change)
        for change in changes
        if change.session_id is not None
    )


def user_cost_updates(changes: Iterable[CostChange]) -> list[UpdateOne]:
    """One `$inc` of `cost_usd` per end user, as for sessions."""
    return _cost_incs(
        (user_key(change.project_id, change.user_id), change)
        for change in changes
        if change.user_id is not None
    )


def _cost_incs(keyed: Iterable[tuple[str, CostChange]]) -> list[UpdateOne]:
    deltas: dict[str, float] = {}
    for key, change in keyed:
        if change.totals_applied:
            deltas[key] = deltas.get(key, 0.0) + change.cost_delta_usd
    return [
        UpdateOne({"_id": key}, {"$inc": {"cost_usd": delta}})
        for key, delta in deltas.items()
        if delta
    ]


def rollup_cost_updates(
    changes: Iterable[CostChange], period: RollupPeriod = RollupPeriod.HOUR
) -> list[UpdateOne]:
    """The cost fields of each roll-up of `period` counting a changed call, as `$inc`s.

    Roll-ups sum the cost of priced calls only and count priced and unpriced
    calls, so a call that gains or loses a price moves between those counts.
    Nothing is upserted: a roll-up that does not exist never counted the call.
    """
    totals: dict[str, dict[str, float]] = {}
    for change in changes:
        if not change.totals_applied:
            continue
        dimensions = RollupDimensions(
            project_id=change.project_id,
            start=period.floor(change.timestamp),
            provider=change.provider,
            model=change.model,
            environment=change.environment,
            status=change.status,
            status_code=change.status_code,
            error_type=change.error_type,
        )
        inc = totals.setdefault(
            rollup_key(dimensions, period),
            {"cost_usd": 0.0, "priced_count": 0, "unpriced_count": 0},
        )
        was_priced = change.old_cost_usd is not None
        is_priced = change.new_cost_usd is not None
        inc["cost_usd"] += change.cost_delta_usd
        inc["priced_count"] += int(is_priced) - int(was_priced)
        inc["unpriced_count"] += int(was_priced) - int(is_priced)
    return [UpdateOne({"_id": key}, {"$inc": inc}) for key, inc in totals.items()]
