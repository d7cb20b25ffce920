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

    The `_id` is `"<project_id>:<session_id>"`, so the first call or message that
    names a session creates it with an upsert and concurrent writers cannot
    create two. Totals are kept with `$inc` on every call and message, never
    recomputed on read.

    Two families of totals are kept apart on purpose. Calls are the record of
    spend (priced on the server): `call_count` … `duration_ms`. Messages are the
    transcript, and the tokens, cost and duration a client reports on them are
    summed into the `message_*` fields: an SDK that sends both a call and the
    assistant message for the same turn would otherwise be counted twice.

    `status` as stored is a hint: "completed" is final, but whether an
    unfinished session is active or abandoned depends on the project's
    inactivity timeout at read time (`app.services.session_status`).
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
    error_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float = 0.0
    message_count: int = 0
    message_prompt_tokens: int = 0
    message_completion_tokens: int = 0
    message_cost_usd: float = 0.0
    message_duration_ms: float = 0.0
    # The last sequence number handed to a message (`$inc` returns the next).
    message_seq: int = 0
    # Where the previews are: the first user and the last assistant message.
    first_user_seq: int | None = None
    last_assistant_seq: int | None = None
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
            pymongo.IndexModel(
                [("project_id", 1), ("started_at", -1)], name="project_started"
            ),
        ]


def session_key(project_id: str, session_id: str) -> str:
    """The `_id` of a session: unique per project through the primary key."""
    return f"{project_id}:{session_id}"


def new_session_fields(project_id: str, session_id: str) -> dict[str, object]:
    """Every stored field of a fresh session but its times, for `$setOnInsert`.

    Writers drop the keys their update sets with another operator (MongoDB
    refuses one path under two operators). The preview pointers stay absent:
    `$min` on a missing field sets it, on a stored null it would keep the null.
    """
    return {
        "session_id": session_id,
        "project_id": project_id,
        "user_id": None,
        "status": "active",
        "ended_at": None,
        "call_count": 0,
        "error_count": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "cached_prompt_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.0,
        "duration_ms": 0.0,
        "message_count": 0,
        "message_prompt_tokens": 0,
        "message_completion_tokens": 0,
        "message_cost_usd": 0.0,
        "message_duration_ms": 0.0,
        "message_seq": 0,
        "models": [],
        "providers": [],
        "metadata": {},
    }
