"""Session totals from calls: one upsert per session per batch, then events.

`app.services.calls.apply_totals` is the one hook that runs these after calls
are stored; messages keep their own totals in `session_messages`.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from app.documents import Log, Session, session_key
from app.documents.session import new_session_fields
from app.pubsub import Broker, SessionChange, SessionUpdated, sessions_topic
from app.services.lookups import find_by_ids
from app.services.session_status import session_timeout, with_effective_status
from app.services.store_errors import store_errors


def insert_only(
    fields: dict[str, object], *updates: dict[str, Any]
) -> dict[str, object]:
    """`fields` minus every path another operator of the same update sets."""
    taken = {path.split(".")[0] for update in updates for path in update}
    return {key: value for key, value in fields.items() if key not in taken}


def session_updates(logs: Iterable[Log]) -> list[UpdateOne]:
    """One upsert per session touched by `logs`, with every total as `$inc`.

    Grouping first keeps a batch to one write per session; `$inc`, `$min` and
    `$max` make concurrent calls to the same session add up without lost
    updates. A second, conditional update per session turns a stored ABANDONED
    back to ACTIVE: new activity reopens an abandoned conversation (a completed
    one stays completed and only gains the totals).
    """
    grouped: dict[str, list[Log]] = {}
    for log_ in logs:
        if log_.session_id is not None:
            key = session_key(log_.project_id, log_.session_id)
            grouped.setdefault(key, []).append(log_)

    updates: list[UpdateOne] = []
    for key, session_logs in grouped.items():
        first = session_logs[0]
        assert first.session_id is not None  # grouped above by session id
        increments = {
            "call_count": len(session_logs),
            "error_count": sum(item.status == "error" for item in session_logs),
            "prompt_tokens": sum(item.prompt_tokens or 0 for item in session_logs),
            "completion_tokens": sum(
                item.completion_tokens or 0 for item in session_logs
            ),
            "total_tokens": sum(item.total_tokens or 0 for item in session_logs),
            "cached_prompt_tokens": sum(
                item.cached_prompt_tokens or 0 for item in session_logs
            ),
            "reasoning_tokens": sum(
                item.reasoning_tokens or 0 for item in session_logs
            ),
            "cost_usd": sum(item.cost_usd or 0.0 for item in session_logs),
            "duration_ms": sum(item.duration_ms or 0.0 for item in session_logs),
        }
        minimum = {"started_at": min(item.timestamp for item in session_logs)}
        maximum = {"last_activity_at": max(item.timestamp for item in session_logs)}
        add_to_set = {
            "models": {"$each": sorted({item.model for item in session_logs})},
            "providers": {"$each": sorted({item.provider for item in session_logs})},
        }
        assign: dict[str, Any] = {}
        user_ids = [item.user_id for item in session_logs if item.user_id]
        if user_ids:
            assign["user_id"] = user_ids[-1]
        update: dict[str, Any] = {
            "$setOnInsert": insert_only(
                new_session_fields(first.project_id, first.session_id),
                increments,
                minimum,
                maximum,
                add_to_set,
                assign,
            ),
            "$inc": increments,
            "$min": minimum,
            "$max": maximum,
            "$addToSet": add_to_set,
        }
        if assign:
            update["$set"] = assign
        updates.append(UpdateOne({"_id": key}, update, upsert=True))
        updates.append(
            UpdateOne(
                {"_id": key, "status": "abandoned"}, {"$set": {"status": "active"}}
            )
        )
    return updates


async def publish_changes(
    broker: Broker, changes: dict[str, SessionChange], *, now: datetime
) -> None:
    """Read the sessions in `changes` (by `_id`) once and publish each change."""
    if not changes:
        return
    with store_errors("publish_session_changes"):
        rows = await find_by_ids(Session, list(changes))
    timeouts = {
        project_id: await session_timeout(project_id)
        for project_id in {row.project_id for row in rows}
    }
    for row in rows:
        current = with_effective_status(row, now=now, timeout=timeouts[row.project_id])
        await broker.publish(
            sessions_topic(row.project_id),
            SessionUpdated(row.project_id, current, changes[row.id]),
        )
