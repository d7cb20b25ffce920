"""Recompute the cost of stored calls after prices change (`repriceLogs`).

Calls whose cost the client reported are never touched. Every other call in the
filter is priced again exactly as at ingest (the project's custom prices, then
the price table at the call's time). A dry run only reports, per provider and
model, how many calls and how much cost would change.

A real run walks the calls in `_id` order, in chunks, and writes each chunk in
one transaction: the calls' new costs, the `$inc` of their sessions' and end
users' cost totals, and the `$inc` of the hourly and daily roll-ups that count them, so
the totals always agree with the calls. One run per project at a time (a lease on the
project); a run cut short by a store failure leaves whole chunks done and can
simply be run again, since calls already repriced no longer change.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import OperationFailure

from app.documents import Log, Project
from app.documents.price import CustomPrice
from app.documents.rollup import DailyUsageRollup, RollupVersions, UsageRollup
from app.documents.session import Session
from app.documents.user import User
from app.errors import Conflict, InvalidInput, Unavailable
from app.pipelines.cost import (
    CostChange,
    log_cost_updates,
    rollup_cost_updates,
    session_cost_updates,
    user_cost_updates,
)
from app.pipelines.rollup import RollupPeriod
from app.services.calls import LogFilter, ingest_rules, log_query
from app.services.pending_totals import pending_batches
from app.services.pricing import price_call
from app.services.rollup_cache import version_bumps
from app.services.store_errors import store_errors
from app.settings import Settings

log = structlog.get_logger(__name__)

CHUNK_SIZE = 1000
_LEASE = timedelta(minutes=15)
_TRANSACTIONS_UNSUPPORTED = 20  # IllegalOperation: a standalone mongod
_FIELDS = (
    "project_id",
    "session_id",
    "user_id",
    "timestamp",
    "provider",
    "model",
    "environment",
    "status",
    "status_code",
    "error",
    "totals_batch",
    "prompt_tokens",
    "completion_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_source",
    "price_version",
)


@dataclass(slots=True)
class ModelRepricing:
    """What repricing changes for one provider and model."""

    provider: str
    model: str
    call_count: int = 0
    old_cost_usd: float = 0.0
    new_cost_usd: float = 0.0
    newly_priced_count: int = 0
    newly_unpriced_count: int = 0

    @property
    def cost_delta_usd(self) -> float:
        return self.new_cost_usd - self.old_cost_usd

    def add(self, change: CostChange) -> None:
        self.call_count += 1
        self.old_cost_usd += change.old_cost_usd or 0.0
        self.new_cost_usd += change.new_cost_usd or 0.0
        if change.old_cost_usd is None and change.new_cost_usd is not None:
            self.newly_priced_count += 1
        if change.old_cost_usd is not None and change.new_cost_usd is None:
            self.newly_unpriced_count += 1


@dataclass(slots=True)
class RepriceReport:
    """The outcome of a reprice, or what it would be for a dry run."""

    dry_run: bool
    examined_count: int = 0
    changed_count: int = 0
    by_model: dict[tuple[str, str], ModelRepricing] = field(default_factory=dict)

    @property
    def cost_delta_usd(self) -> float:
        return sum(model.cost_delta_usd for model in self.by_model.values())

    @property
    def models(self) -> list[ModelRepricing]:
        """Per model, the largest change in cost first."""
        return sorted(
            self.by_model.values(),
            key=lambda model: (-abs(model.cost_delta_usd), model.provider, model.model),
        )

    def add(self, change: CostChange) -> None:
        self.changed_count += 1
        key = (change.provider, change.model)
        model = self.by_model.get(key)
        if model is None:
            model = self.by_model[key] = ModelRepricing(*key)
        model.add(change)


async def reprice_logs(
    project_id: str, log_filter: LogFilter, *, dry_run: bool, settings: Settings
) -> RepriceReport:
    """Reprice the calls `log_filter` selects; see the module docstring."""
    rules = await ingest_rules(project_id, settings, fresh=True)
    query = log_query(project_id, log_filter)
    query["cost_source"] = {"$ne": "reported"}
    with store_errors("count_reprice"):
        matching = await Log.find(query).count()
    if matching > settings.max_reprice_calls:
        message = (
            f"{matching} calls match; one reprice handles at most "
            f"{settings.max_reprice_calls}. Narrow the filter (for example its time "
            "range) and run it once per part"
        )
        raise InvalidInput(message, field="filter")

    report = RepriceReport(dry_run=dry_run)
    if not dry_run:
        await _take_lease(project_id)
    try:
        after: str | None = None
        while True:
            rows = await _chunk(query, after)
            if not rows:
                break
            after = rows[-1]["_id"]
            # Calls of a batch still being counted get their new cost only:
            # counting them later adds the cost they then carry.
            pending = await pending_batches(row.get("totals_batch") for row in rows)
            changes = _changes(rows, rules.custom_prices, pending)
            report.examined_count += len(rows)
            if changes and not dry_run:
                await _write(changes)
            for change in changes:
                report.add(change)
    finally:
        if not dry_run:
            await _release_lease(project_id)

    log.info(
        "logs.repriced",
        project_id=project_id,
        dry_run=dry_run,
        examined=report.examined_count,
        changed=report.changed_count,
    )
    return report


async def _chunk(query: dict[str, Any], after: str | None) -> list[dict[str, Any]]:
    page_query = dict(query)
    if after is not None:
        page_query["_id"] = {"$gt": after}
    with store_errors("read_reprice_chunk"):
        cursor = (
            Log.get_pymongo_collection()
            .find(page_query, projection=dict.fromkeys(_FIELDS, 1))
            .sort("_id", 1)
            .limit(CHUNK_SIZE)
        )
        return await cursor.to_list()


def _changes(
    rows: Sequence[dict[str, Any]],
    custom_prices: Sequence[CustomPrice],
    pending: set[str],
) -> list[CostChange]:
    changes = []
    for row in rows:
        result = price_call(
            provider=row["provider"],
            model=row["model"],
            timestamp=row["timestamp"],
            prompt_tokens=row.get("prompt_tokens"),
            completion_tokens=row.get("completion_tokens"),
            cached_prompt_tokens=row.get("cached_prompt_tokens"),
            cache_write_tokens=row.get("cache_write_tokens"),
            reasoning_tokens=row.get("reasoning_tokens"),
            reported_cost_usd=None,
            custom_prices=custom_prices,
        )
        old_cost = row.get("cost_usd")
        if (
            result.cost_source == row.get("cost_source")
            and result.price_version == row.get("price_version")
            and _same_cost(old_cost, result.cost_usd)
        ):
            continue
        changes.append(
            CostChange(
                call_key=row["_id"],
                project_id=row["project_id"],
                session_id=row.get("session_id"),
                user_id=row.get("user_id"),
                timestamp=row["timestamp"],
                provider=row["provider"],
                model=row["model"],
                environment=row.get("environment", "production"),
                status=row.get("status", "success"),
                status_code=row.get("status_code"),
                error_type=(row.get("error") or {}).get("type"),
                totals_applied=row.get("totals_batch") not in pending,
                old_cost_usd=old_cost,
                old_cost_source=row.get("cost_source", "unpriced"),
                new_cost_usd=result.cost_usd,
                new_cost_source=result.cost_source,
                new_price_version=result.price_version,
            )
        )
    return changes


def _same_cost(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is new
    return math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12)


async def _write(changes: list[CostChange]) -> None:
    """Write one chunk's calls, session totals and roll-ups in one transaction."""
    logs = Log.get_pymongo_collection()
    writes = [
        (logs, log_cost_updates(changes)),
        (Session.get_pymongo_collection(), session_cost_updates(changes)),
        (User.get_pymongo_collection(), user_cost_updates(changes)),
        (
            UsageRollup.get_pymongo_collection(),
            rollup_cost_updates(changes, RollupPeriod.HOUR),
        ),
        (
            DailyUsageRollup.get_pymongo_collection(),
            rollup_cost_updates(changes, RollupPeriod.DAY),
        ),
        # In the same transaction: memory caches of those days see them change.
        (
            RollupVersions.get_pymongo_collection(),
            version_bumps(
                (change.project_id, change.timestamp)
                for change in changes
                if change.totals_applied
            ),
        ),
    ]
    with store_errors("reprice_logs"):
        try:
            async with logs.database.client.start_session() as session:
                await session.with_transaction(
                    lambda bound: _bulk_writes(writes, bound)
                )
        except OperationFailure as error:
            if error.code != _TRANSACTIONS_UNSUPPORTED:
                raise
            message = (
                "repricing needs transactions, which this MongoDB deployment does "
                "not offer; run MongoDB as a replica set (a single-node one will do)"
            )
            raise Unavailable(message) from error


async def _bulk_writes(
    writes: list[tuple[Any, list[Any]]], session: AsyncClientSession
) -> None:
    for collection, updates in writes:
        if updates:
            await collection.bulk_write(updates, ordered=False, session=session)


async def _take_lease(project_id: str) -> None:
    now = datetime.now(UTC)
    with store_errors("take_reprice_lease"):
        result = await Project.get_pymongo_collection().update_one(
            {
                "_id": project_id,
                "$or": [
                    {"reprice_lease_until": None},
                    {"reprice_lease_until": {"$lt": now}},
                ],
            },
            {"$set": {"reprice_lease_until": now + _LEASE}},
        )
    if result.modified_count != 1:
        message = (
            "another reprice of this project is running; run this one when it "
            "has finished"
        )
        raise Conflict(message)


async def _release_lease(project_id: str) -> None:
    with store_errors("release_reprice_lease"):
        await Project.get_pymongo_collection().update_one(
            {"_id": project_id}, {"$set": {"reprice_lease_until": None}}
        )
