"""Per-user totals over raw calls in a time range (top users, user outliers)."""

from datetime import datetime
from typing import Literal

from app.pipelines import Pipeline

UserMeasure = Literal["cost_usd", "call_count"]


def user_usage(
    project_id: str,
    *,
    start: datetime,
    end: datetime,
    order_by: UserMeasure | None = None,
    limit: int | None = None,
) -> Pipeline:
    """One row per user with calls in `[start, end)`; optionally the top `limit`.

    The `$match` leads with the project and the time range, so MongoDB reads
    the calls through the `(project_id, timestamp)` or
    `(project_id, user_id, timestamp)` index and never the whole collection.
    """
    stages: Pipeline = [
        {
            "$match": {
                "project_id": project_id,
                "timestamp": {"$gte": start, "$lt": end},
                "user_id": {"$ne": None},
            }
        },
        {
            "$group": {
                "_id": "$user_id",
                "call_count": {"$sum": 1},
                "error_count": {
                    "$sum": {"$cond": [{"$eq": ["$status", "error"]}, 1, 0]}
                },
                "prompt_tokens": {"$sum": {"$ifNull": ["$prompt_tokens", 0]}},
                "completion_tokens": {"$sum": {"$ifNull": ["$completion_tokens", 0]}},
                "total_tokens": {"$sum": {"$ifNull": ["$total_tokens", 0]}},
                "cost_usd": {"$sum": {"$ifNull": ["$cost_usd", 0]}},
                "duration_ms": {"$sum": {"$ifNull": ["$duration_ms", 0]}},
                "first_seen_at": {"$min": "$timestamp"},
                "last_seen_at": {"$max": "$timestamp"},
                "models": {"$addToSet": "$model"},
            }
        },
    ]
    if order_by is not None:
        stages.append({"$sort": {order_by: -1, "_id": 1}})
    if limit is not None:
        stages.append({"$limit": limit})
    return stages


def session_counts(project_id: str, user_ids: list[str]) -> Pipeline:
    """How many sessions each of `user_ids` has, through the user index."""
    return [
        {"$match": {"project_id": project_id, "user_id": {"$in": user_ids}}},
        {"$group": {"_id": "$user_id", "sessions": {"$sum": 1}}},
    ]
