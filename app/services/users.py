"""End users: totals kept with every call, lookup by id, lists and top users."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pymongo import UpdateOne

from app.documents import Log, Session, User, user_key
from app.documents.user import new_user_fields
from app.errors import InvalidInput
from app.pipelines import users as user_pipelines
from app.pipelines.users import UserMeasure
from app.services.pagination import Page, keyset_page
from app.services.session_totals import insert_only
from app.services.store_errors import store_errors

UserSortField = Literal[
    "last_seen_at",
    "first_seen_at",
    "cost_usd",
    "call_count",
    "error_count",
    "total_tokens",
]

MAX_RANGE = timedelta(days=93)
"""The longest time range a raw-call aggregation (top users, user outliers) may span."""


def user_updates(logs: Iterable[Log]) -> list[UpdateOne]:
    """One upsert per user named in `logs`, every total as `$inc`."""
    grouped: dict[str, list[Log]] = {}
    for log in logs:
        if log.user_id is not None:
            grouped.setdefault(user_key(log.project_id, log.user_id), []).append(log)

    updates: list[UpdateOne] = []
    for key, user_logs in grouped.items():
        first = user_logs[0]
        assert first.user_id is not None  # grouped above by user id
        increments = {
            "call_count": len(user_logs),
            "error_count": sum(item.status == "error" for item in user_logs),
            "prompt_tokens": sum(item.prompt_tokens or 0 for item in user_logs),
            "completion_tokens": sum(item.completion_tokens or 0 for item in user_logs),
            "total_tokens": sum(item.total_tokens or 0 for item in user_logs),
            "cached_prompt_tokens": sum(
                item.cached_prompt_tokens or 0 for item in user_logs
            ),
            "reasoning_tokens": sum(item.reasoning_tokens or 0 for item in user_logs),
            "cost_usd": sum(item.cost_usd or 0.0 for item in user_logs),
            "duration_ms": sum(item.duration_ms or 0.0 for item in user_logs),
        }
        minimum = {"first_seen_at": min(item.timestamp for item in user_logs)}
        maximum = {"last_seen_at": max(item.timestamp for item in user_logs)}
        add_to_set = {
            "models": {"$each": sorted({item.model for item in user_logs})},
            "providers": {"$each": sorted({item.provider for item in user_logs})},
        }
        update = {
            "$setOnInsert": insert_only(
                new_user_fields(first.project_id, first.user_id),
                increments,
                add_to_set,
            ),
            "$inc": increments,
            "$min": minimum,
            "$max": maximum,
            "$addToSet": add_to_set,
        }
        updates.append(UpdateOne({"_id": key}, update, upsert=True))
    return updates


async def get_user(project_id: str, user_id: str) -> User | None:
    """The user in one primary-key read, or None (also for other projects')."""
    with store_errors("get_user"):
        return await User.get(user_key(project_id, user_id))


async def users_by_ids(project_id: str, user_ids: Sequence[str]) -> dict[str, User]:
    """Many users in one query, keyed by user id."""
    keys = [user_key(project_id, user_id) for user_id in user_ids]
    with store_errors("users_by_ids"):
        rows = await User.find({"_id": {"$in": keys}}).to_list()
    return {row.user_id: row for row in rows}


async def session_counts(project_id: str, user_ids: Sequence[str]) -> dict[str, int]:
    """How many sessions each user has, in one aggregation over the user index."""
    pipeline = user_pipelines.session_counts(project_id, list(user_ids))
    with store_errors("session_counts"):
        cursor = await Session.get_pymongo_collection().aggregate(pipeline)
        rows = await cursor.to_list()
    return {str(row["_id"]): int(row["sessions"]) for row in rows}


@dataclass(frozen=True, slots=True)
class UserFilter:
    """What `list_users` narrows by; the project always comes from the key."""

    id_prefix: str | None = None
    seen_since: datetime | None = None
    seen_before: datetime | None = None
    min_cost_usd: float | None = None
    has_errors: bool | None = None
    models: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class UserOrder:
    field: UserSortField = "last_seen_at"
    descending: bool = True


def user_query(project_id: str, user_filter: UserFilter) -> dict[str, Any]:
    """The find condition for `user_filter`, scoped to the project first."""
    query: dict[str, Any] = {"project_id": project_id}
    if user_filter.id_prefix:
        query["_id"] = {
            "$gte": user_key(project_id, user_filter.id_prefix),
            # Every id with the prefix sorts below the prefix plus the highest code point.
            "$lt": user_key(project_id, user_filter.id_prefix) + "\U0010ffff",
        }
    # Seen in the window: last seen after its start, first seen before its end.
    if user_filter.seen_since is not None:
        query["last_seen_at"] = {"$gte": user_filter.seen_since}
    if user_filter.seen_before is not None:
        query["first_seen_at"] = {"$lt": user_filter.seen_before}
    if user_filter.min_cost_usd is not None:
        query["cost_usd"] = {"$gte": user_filter.min_cost_usd}
    if user_filter.has_errors is True:
        query["error_count"] = {"$gt": 0}
    elif user_filter.has_errors is False:
        query["error_count"] = 0
    if user_filter.models:
        query["models"] = {"$in": list(user_filter.models)}
    return query


async def list_users(
    project_id: str,
    user_filter: UserFilter,
    *,
    first: int,
    after: str | None,
    order: UserOrder | None = None,
) -> Page[User]:
    """Users of the project in `order` (most recently seen first by default)."""
    order = order or UserOrder()
    with store_errors("list_users"):
        return await keyset_page(
            User,
            user_query(project_id, user_filter),
            sort_field=order.field,
            descending=order.descending,
            first=first,
            after=after,
        )


@dataclass(frozen=True, slots=True)
class UserUsage:
    """One user's calls inside a time range, aggregated from the calls themselves."""

    user_id: str
    call_count: int
    error_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    duration_ms: float
    first_seen_at: datetime
    last_seen_at: datetime
    models: list[str]


def check_range(start: datetime, end: datetime) -> None:
    """Refuse empty, inverted or too long ranges for raw-call aggregations."""
    if start >= end:
        message = "range.start must be before range.end"
        raise InvalidInput(message, field="range.start")
    if end - start > MAX_RANGE:
        message = (
            f"the range spans {(end - start).days} days; the limit is "
            f"{MAX_RANGE.days} days for rankings over raw calls, narrow it"
        )
        raise InvalidInput(message, field="range")


async def user_usage(
    project_id: str,
    *,
    start: datetime,
    end: datetime,
    order_by: UserMeasure | None = None,
    limit: int | None = None,
) -> list[UserUsage]:
    """Per-user totals of the calls in `[start, end)`, optionally only the top `limit`."""
    check_range(start, end)
    pipeline = user_pipelines.user_usage(
        project_id, start=start, end=end, order_by=order_by, limit=limit
    )
    with store_errors("user_usage"):
        cursor = await Log.get_pymongo_collection().aggregate(pipeline)
        rows = await cursor.to_list()
    return [
        UserUsage(
            user_id=str(row["_id"]),
            call_count=int(row["call_count"]),
            error_count=int(row["error_count"]),
            prompt_tokens=int(row["prompt_tokens"]),
            completion_tokens=int(row["completion_tokens"]),
            total_tokens=int(row["total_tokens"]),
            cost_usd=float(row["cost_usd"]),
            duration_ms=float(row["duration_ms"]),
            first_seen_at=row["first_seen_at"],
            last_seen_at=row["last_seen_at"],
            models=sorted(row["models"]),
        )
        for row in rows
    ]
