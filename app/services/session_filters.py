"""Which sessions a list or a statistic covers, and in what order."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from beanie import SortDirection

from app.documents import Session
from app.documents.log import MetadataValue
from app.documents.session import SessionStatus
from app.services.pagination import Page, keyset_page
from app.services.session_status import (
    session_timeout,
    status_condition,
    with_effective_status,
)
from app.services.store_errors import store_errors

SessionSortField = Literal[
    "started_at", "last_activity_at", "cost_usd", "call_count", "duration_ms"
]


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What a session list or statistic narrows by; the project comes from the key.

    `start`/`end` select sessions with activity in `[start, end)`: started
    before `end` and last active at or after `start`.
    """

    user_id: str | None = None
    statuses: tuple[SessionStatus, ...] = ()
    models: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    started_since: datetime | None = None
    started_before: datetime | None = None
    active_since: datetime | None = None
    active_before: datetime | None = None
    min_cost_usd: float | None = None
    has_errors: bool | None = None
    metadata: tuple[tuple[str, MetadataValue], ...] = ()


@dataclass(frozen=True, slots=True)
class SessionOrder:
    """A sort field and direction; ties are broken by the session's key."""

    field: SessionSortField = "last_activity_at"
    descending: bool = True


def _range(since: datetime | None, before: datetime | None) -> dict[str, datetime]:
    bounds: dict[str, datetime] = {}
    if since is not None:
        bounds["$gte"] = since
    if before is not None:
        bounds["$lt"] = before
    return bounds


def session_query(
    project_id: str, session_filter: SessionFilter, *, now: datetime, timeout: timedelta
) -> dict[str, Any]:
    """The find condition for `session_filter`, always scoped to the project first."""
    clauses: list[dict[str, Any]] = []
    if session_filter.user_id is not None:
        clauses.append({"user_id": session_filter.user_id})
    if session_filter.statuses:
        clauses.append(
            status_condition(session_filter.statuses, now=now, timeout=timeout)
        )
    if session_filter.models:
        clauses.append({"models": {"$in": list(session_filter.models)}})
    if session_filter.end is not None:
        clauses.append({"started_at": {"$lt": session_filter.end}})
    if session_filter.start is not None:
        clauses.append({"last_activity_at": {"$gte": session_filter.start}})
    started = _range(session_filter.started_since, session_filter.started_before)
    if started:
        clauses.append({"started_at": started})
    active = _range(session_filter.active_since, session_filter.active_before)
    if active:
        clauses.append({"last_activity_at": active})
    if session_filter.min_cost_usd is not None:
        clauses.append({"cost_usd": {"$gte": session_filter.min_cost_usd}})
    if session_filter.has_errors is True:
        clauses.append({"error_count": {"$gt": 0}})
    elif session_filter.has_errors is False:
        clauses.append({"error_count": 0})
    for key, value in session_filter.metadata:
        clauses.append({f"metadata.{key}": value})

    query: dict[str, Any] = {"project_id": project_id}
    if clauses:
        query["$and"] = clauses
    return query


async def list_sessions(
    project_id: str,
    session_filter: SessionFilter,
    *,
    first: int,
    after: str | None,
    order: SessionOrder | None = None,
) -> Page[Session]:
    """Sessions of the project in `order` (most recently active first by default)."""
    order = order or SessionOrder()
    now = datetime.now(UTC)
    timeout = await session_timeout(project_id)
    with store_errors("list_sessions"):
        page = await keyset_page(
            Session,
            session_query(project_id, session_filter, now=now, timeout=timeout),
            sort_field=order.field,
            descending=order.descending,
            first=first,
            after=after,
        )
    return Page(
        items=[
            with_effective_status(row, now=now, timeout=timeout) for row in page.items
        ],
        total_count=page.total_count,
        has_next_page=page.has_next_page,
        end_cursor=page.end_cursor,
    )


@dataclass(frozen=True, slots=True)
class OffsetPage:
    """Sessions from `skip` on, newest start first, and how many match in all."""

    items: list[Session]
    total_count: int


async def sessions_by_offset(
    project_id: str, session_filter: SessionFilter, *, skip: int, limit: int
) -> OffsetPage:
    """The origin's list: newest start first, paged by skip and limit.

    Offsets shift when sessions start meanwhile; GraphQL's `sessions` pages with
    cursors instead. This exists for clients of the origin's REST API.
    """
    now = datetime.now(UTC)
    timeout = await session_timeout(project_id)
    query = session_query(project_id, session_filter, now=now, timeout=timeout)
    with store_errors("sessions_by_offset"):
        rows = (
            await Session.find(query)
            .sort(
                [
                    ("started_at", SortDirection.DESCENDING),
                    ("_id", SortDirection.DESCENDING),
                ]
            )
            .skip(skip)
            .limit(limit)
            .to_list()
        )
        total = await Session.find(query).count()
    return OffsetPage(
        items=[with_effective_status(row, now=now, timeout=timeout) for row in rows],
        total_count=total,
    )
