"""One conversation: a run of calls and messages sharing a session id."""

from datetime import datetime
from typing import Literal

import pymongo
from beanie import Document
from pydantic import Field

from app.documents.log import MetadataValue

SessionStatus = Literal["active", "completed", "abandoned"]


class Session(Document):
    """A conversation, stored in `llm_sessions`.

    The `_id` is `"<project_id>:<session_id>"`, so the first call that names a
    session creates it with an upsert and concurrent calls cannot create two.
    Totals are kept with `$inc` on every call, never recomputed on read.
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    session_id: str
    project_id: str
    user_id: str | None = None
    status: SessionStatus = "active"
    started_at: datetime
    last_activity_at: datetime
    ended_at: datetime | None = None
    call_count: int = 0
    message_count: int = 0
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
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)

    class Settings:
        name = "llm_sessions"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel(
                [("project_id", 1), ("last_activity_at", -1)],
                name="project_last_activity",
            ),
            pymongo.IndexModel(
                [("project_id", 1), ("user_id", 1), ("last_activity_at", -1)],
                name="project_user_last_activity",
            ),
        ]


def session_key(project_id: str, session_id: str) -> str:
    """The `_id` of a session: unique per project through the primary key."""
    return f"{project_id}:{session_id}"
