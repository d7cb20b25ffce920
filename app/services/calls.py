"""Record LLM calls, list them and find one."""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from beanie import SortDirection
from pymongo import UpdateOne
from pymongo.results import BulkWriteResult

from app.documents import Log, Project, Session, User, log_key, session_key
from app.documents.log import CostSource, MetadataValue, Status
from app.documents.price import CustomPrice
from app.errors import NotFound
from app.pubsub import Broker, CallLogged, SessionChange, calls_topic
from app.services.call_validation import CallLimits
from app.services.pagination import Page, keyset_page
from app.services.pending_totals import (
    close_batch,
    move_to_batch,
)
from app.services.pricing import price_call
from app.services.rollups import write_rollups
from app.services.session_totals import publish_changes, session_updates
from app.services.store_errors import read_limit_ms, store_errors
from app.services.users import user_updates
from app.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IngestRules:
    """What a project's calls are checked and priced against."""

    limits: CallLimits
    custom_prices: tuple[CustomPrice, ...]


# Per process: project id -> (monotonic expiry, rules).
_rules_cache: dict[str, tuple[float, IngestRules]] = {}


def forget_ingest_rules(project_id: str) -> None:
    """Drop this process's cached rules once the project's settings or prices change.

    Other processes notice within `settings.project_cache_ttl_s`.
    """
    _rules_cache.pop(project_id, None)


async def ingest_rules(
    project_id: str, settings: Settings, *, fresh: bool = False
) -> IngestRules:
    """Service limits narrowed by the project's settings, and its custom prices.

    Every ingest request needs them, so they are kept for
    `settings.project_cache_ttl_s` seconds instead of costing a store round
    trip each time; `fresh=True` reads the project regardless.
    """
    ttl = settings.project_cache_ttl_s
    cached = _rules_cache.get(project_id)
    if not fresh and ttl > 0 and cached is not None and cached[0] > time.monotonic():
        return cached[1]

    with store_errors("load_project"):
        project = await Project.get(project_id)
    if project is None or project.deleting_since is not None:
        message = f"project {project_id!r} no longer exists"
        raise NotFound(message)
    limits = CallLimits(
        max_string_chars=settings.max_string_chars,
        max_text_chars=min(settings.max_text_chars, project.settings.max_text_chars),
        max_tags=settings.max_tags,
        max_metadata_keys=settings.max_metadata_keys,
        max_future_skew=timedelta(seconds=settings.max_future_skew_s),
        store_text=project.settings.store_text,
    )
    rules = IngestRules(limits=limits, custom_prices=tuple(project.custom_prices))
    if ttl > 0:
        _rules_cache[project_id] = (time.monotonic() + ttl, rules)
    return rules


def price_log(log: Log, custom_prices: Sequence[CustomPrice]) -> None:
    """Set the call's cost and its provenance; a reported cost is kept."""
    result = price_call(
        provider=log.provider,
        model=log.model,
        timestamp=log.timestamp,
        prompt_tokens=log.prompt_tokens,
        completion_tokens=log.completion_tokens,
        cached_prompt_tokens=log.cached_prompt_tokens,
        cache_write_tokens=log.cache_write_tokens,
        reasoning_tokens=log.reasoning_tokens,
        reported_cost_usd=log.cost_usd,
        custom_prices=custom_prices,
    )
    log.cost_usd = result.cost_usd
    log.cost_source = result.cost_source
    log.price_version = result.price_version


async def _bulk(
    document: type[Session] | type[User], updates: list[UpdateOne]
) -> BulkWriteResult | None:
    if not updates:
        return None
    return await document.get_pymongo_collection().bulk_write(updates, ordered=False)


async def apply_totals(logs: Sequence[Log], *, batch_id: str, broker: Broker) -> None:
    """Add `logs` to their sessions', users' and usage roll-ups' totals, close the batch, publish.

    `batch_id` is this request's open batch (`pending_totals.open_batch`). Calls
    of an earlier batch that is still open (a retry finishing what a failed
    request left) are moved into it first. If this step fails, the batch stays
    open: the client sees an error and retries, and the retry finds the calls
    uncounted and counts them, so the totals do not miss them. Sessions the
    batch created are published as "created", the others it touched as
    "totals_changed".
    """
    moved = move_to_batch(logs, batch_id)
    sessions = session_updates(logs)
    users = user_updates(logs)
    changes: dict[str, SessionChange] = {}
    with store_errors("apply_totals"):
        if moved:
            await Log.get_pymongo_collection().bulk_write(moved, ordered=False)
        # Four collections (sessions, users, hourly and daily roll-ups), so four
        # bulk writes; they do not depend on each other.
        # TODO: if only some of these writes (or closing the batch) succeed, a retry adds the calls again to those that did; per-call markers in each total would stop it.
        session_result, _, _ = await asyncio.gather(
            _bulk(Session, sessions), _bulk(User, users), write_rollups(logs)
        )
        if session_result is not None:
            created = {str(key) for key in (session_result.upserted_ids or {}).values()}
            for log in logs:
                if log.session_id is not None:
                    key = session_key(log.project_id, log.session_id)
                    changes[key] = "created" if key in created else "totals_changed"
    await close_batch(batch_id)
    for stored in logs:
        stored.totals_batch = batch_id
    await publish_changes(broker, changes, now=datetime.now(UTC))


async def publish_calls(project_id: str, logs: Sequence[Log], broker: Broker) -> None:
    """One broker message for every call a request stored: once per batch."""
    events = [CallLogged(project_id, stored) for stored in logs]
    await broker.publish_many(calls_topic(project_id), events)


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What `list_logs` narrows by; the project always comes from the key.

    The same narrowing as a usage filter (lists match any of their values,
    `tags` must all be carried, metadata pairs with different keys must all
    match), plus the single `user_id` and `session_id` of the first API.
    """

    start: datetime | None = None
    end: datetime | None = None
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    user_id: str | None = None
    session_id: str | None = None
    user_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    status_codes: tuple[int, ...] = ()
    error_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, MetadataValue], ...] = ()
    cost_sources: tuple[CostSource, ...] = ()

    def allowed(self, field: str) -> tuple[object, ...] | None:
        """The values `field` may take, or None when it is not narrowed."""
        single, many = {
            "user_id": (self.user_id, self.user_ids),
            "session_id": (self.session_id, self.session_ids),
        }.get(field, (None, ()))
        values: tuple[object, ...] | None = tuple(many) if many else None
        if single is not None:
            values = (single,) if values is None or single in values else ()
        return values


_LIST_FIELDS = (
    ("provider", "providers"),
    ("model", "models"),
    ("environment", "environments"),
    ("status", "statuses"),
    ("status_code", "status_codes"),
    ("cost_source", "cost_sources"),
)


def log_query(project_id: str, log_filter: LogFilter) -> dict[str, Any]:
    """The find filter for `log_filter`, always scoped to the project first."""
    query: dict[str, Any] = {"project_id": project_id}
    time_range: dict[str, datetime] = {}
    if log_filter.start is not None:
        time_range["$gte"] = log_filter.start
    if log_filter.end is not None:
        time_range["$lt"] = log_filter.end
    if time_range:
        query["timestamp"] = time_range
    for field, attribute in _LIST_FIELDS:
        values = getattr(log_filter, attribute)
        if values:
            query[field] = {"$in": list(values)}
    for field in ("user_id", "session_id"):
        allowed = log_filter.allowed(field)
        if allowed is not None:
            query[field] = {"$in": list(allowed)}
    if log_filter.error_types:
        query["error.type"] = {"$in": list(log_filter.error_types)}
    if log_filter.tags:
        query["tags"] = {"$all": list(log_filter.tags)}
    for key, values in _metadata_values(log_filter).items():
        query[f"metadata.{key}"] = {"$in": values}
    return query


def _metadata_values(log_filter: LogFilter) -> dict[str, list[MetadataValue]]:
    values_by_key: dict[str, list[MetadataValue]] = {}
    for key, value in log_filter.metadata:
        values_by_key.setdefault(key, []).append(value)
    return values_by_key


async def list_logs(
    project_id: str, log_filter: LogFilter, *, first: int, after: str | None
) -> Page[Log]:
    """Calls of the project, newest first, with the total matching count."""
    with store_errors("list_logs"):
        return await keyset_page(
            Log,
            log_query(project_id, log_filter),
            sort_field="timestamp",
            first=first,
            after=after,
        )


async def list_logs_by_offset(
    project_id: str, log_filter: LogFilter, *, limit: int, skip: int
) -> tuple[list[Log], int]:
    """One offset page of calls, newest first, and the count of all matches.

    For the origin's REST API, which pages with `limit` and `skip`; GraphQL
    lists use keyset cursors, which stay stable while calls stream in.
    """
    query = log_query(project_id, log_filter)
    with store_errors("list_logs_by_offset"):
        rows = (
            await Log.find(query)
            .sort(
                ("timestamp", SortDirection.DESCENDING),
                ("_id", SortDirection.DESCENDING),
            )
            .skip(skip)
            .limit(limit)
            .to_list()
        )
        total = await Log.find(query).count()
    return rows, total


async def get_log(project_id: str, call_id: str) -> Log | None:
    """The call with this id in the project, or None (also for other projects')."""
    with store_errors("get_log"):
        return await Log.get(log_key(project_id, call_id))


async def logs_by_sessions(
    project_id: str, session_ids: Sequence[str], *, limit_per_session: int
) -> dict[str, list[Log]]:
    """The first calls of each session in time order, fetched in one query."""
    with store_errors("logs_by_sessions"):
        rows = (
            await Log.find(
                {"project_id": project_id, "session_id": {"$in": list(session_ids)}},
                max_time_ms=read_limit_ms(),
            )
            .sort(
                [
                    ("timestamp", SortDirection.ASCENDING),
                    ("_id", SortDirection.ASCENDING),
                ]
            )
            .to_list()
        )
    grouped: dict[str, list[Log]] = {session_id: [] for session_id in session_ids}
    for row in rows:
        bucket = grouped.get(row.session_id or "")
        if bucket is not None and len(bucket) < limit_per_session:
            bucket.append(row)
    return grouped
