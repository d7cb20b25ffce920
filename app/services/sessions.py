"""Conversations: totals kept with every call, listing and lookup."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from app.documents import Log, Session, session_key
from app.documents.session import SessionStatus
from app.services.pagination import Page, keyset_page
from app.services.store_errors import store_errors


def session_updates(logs: Iterable[Log]) -> list[UpdateOne]:
    """One upsert per session touched by `logs`, with every total as `$inc`.

    Grouping first keeps a batch to one write per session; `$inc`, `$min` and
    `$max` make concurrent calls to the same session add up without lost updates.
    """
    grouped: dict[str, list[Log]] = {}
    for log in logs:
        if log.session_id is not None:
            grouped.setdefault(session_key(log.project_id, log.session_id), []).append(
                log
            )

    updates: list[UpdateOne] = []
    for key, session_logs in grouped.items():
        first = session_logs[0]
        increments = {
            "call_count": len(session_logs),
            "error_count": sum(log.status == "error" for log in session_logs),
            "prompt_tokens": sum(log.prompt_tokens or 0 for log in session_logs),
            "completion_tokens": sum(
                log.completion_tokens or 0 for log in session_logs
            ),
            "total_tokens": sum(log.total_tokens or 0 for log in session_logs),
            "cached_prompt_tokens": sum(
                log.cached_prompt_tokens or 0 for log in session_logs
            ),
            "reasoning_tokens": sum(log.reasoning_tokens or 0 for log in session_logs),
            "cost_usd": sum(log.cost_usd or 0.0 for log in session_logs),
            "duration_ms": sum(log.duration_ms or 0.0 for log in session_logs),
        }
        update: dict[str, Any] = {
            "$setOnInsert": {
                "session_id": first.session_id,
                "project_id": first.project_id,
                "status": "active",
                "message_count": 0,
                "ended_at": None,
                "metadata": {},
            },
            "$inc": increments,
            "$min": {"started_at": min(log.timestamp for log in session_logs)},
            "$max": {"last_activity_at": max(log.timestamp for log in session_logs)},
            "$addToSet": {
                "models": {"$each": sorted({log.model for log in session_logs})},
                "providers": {"$each": sorted({log.provider for log in session_logs})},
            },
        }
        user_ids = [log.user_id for log in session_logs if log.user_id]
        if user_ids:
            update["$set"] = {"user_id": user_ids[-1]}
        updates.append(UpdateOne({"_id": key}, update, upsert=True))
    return updates


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What `list_sessions` narrows by; the project always comes from the key."""

    user_id: str | None = None
    statuses: tuple[SessionStatus, ...] = ()
    active_since: datetime | None = None
    active_before: datetime | None = None


async def list_sessions(
    project_id: str, session_filter: SessionFilter, *, first: int, after: str | None
) -> Page[Session]:
    """Sessions of the project, most recently active first."""
    query: dict[str, Any] = {"project_id": project_id}
    if session_filter.user_id is not None:
        query["user_id"] = session_filter.user_id
    if session_filter.statuses:
        query["status"] = {"$in": list(session_filter.statuses)}
    activity: dict[str, datetime] = {}
    if session_filter.active_since is not None:
        activity["$gte"] = session_filter.active_since
    if session_filter.active_before is not None:
        activity["$lt"] = session_filter.active_before
    if activity:
        query["last_activity_at"] = activity
    with store_errors("list_sessions"):
        return await keyset_page(
            Session, query, sort_field="last_activity_at", first=first, after=after
        )


async def get_session(project_id: str, session_id: str) -> Session | None:
    """The session with this id in the project, or None (also for other projects')."""
    with store_errors("get_session"):
        return await Session.get(session_key(project_id, session_id))
