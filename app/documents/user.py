"""One end user of a project, as the calls name them."""

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field


class User(Document):
    """Running totals of one `user_id`, stored in `llm_users`.

    The `_id` is `"<project_id>:<user_id>"`, so finding a user is one primary-key
    read and never a scan of calls. Totals are kept with `$inc`, `$min`, `$max`
    and `$addToSet` in the same step that adds calls to their sessions; a
    session started for a user creates the user with zero calls.
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    user_id: str
    project_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    call_count: int = 0
    error_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float = 0.0
    models: list[str] = Field(default_factory=list)
    providers: list[str] = Field(default_factory=list)

    class Settings:
        name = "llm_users"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel(
                [("project_id", 1), ("last_seen_at", -1)], name="project_last_seen"
            ),
        ]


def user_key(project_id: str, user_id: str) -> str:
    """The `_id` of a user: unique per project through the primary key."""
    return f"{project_id}:{user_id}"


def new_user_fields(project_id: str, user_id: str) -> dict[str, object]:
    """Every stored field of a fresh user but its times, for `$setOnInsert`."""
    return {
        "user_id": user_id,
        "project_id": project_id,
        "call_count": 0,
        "error_count": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "cached_prompt_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.0,
        "duration_ms": 0.0,
        "models": [],
        "providers": [],
    }
