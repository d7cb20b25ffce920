"""One turn of a conversation, stored apart from its session."""

from datetime import datetime
from typing import Literal

import pymongo
from beanie import Document
from pydantic import Field

MessageRole = Literal["user", "assistant", "system", "tool"]

AUTO_ID_PREFIX = "#"
"""Messages sent without an id are named `#<seq>`; client ids may not start so."""


class SessionMessage(Document):
    """A message, stored in `llm_session_messages`.

    The `_id` is `"<project_id>:<session_id>:<message_id>"`, where the message id
    is the client's (a retry with the same id finds the stored message) or
    `#<seq>` when the client sent none. Message ids never contain `:`, so the
    last segment is unambiguous even when session ids do.

    `seq` is handed out by an atomic `$inc` on the session, so the order of a
    conversation is exact and pages are stable; a failed write may leave a gap.
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    message_id: str
    project_id: str
    session_id: str
    seq: int
    role: MessageRole
    content: str | None = None
    content_truncated: bool = False
    timestamp: datetime
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float = 0.0
    # False until the session's totals include this message; a retry with the
    # same id finishes the job instead of counting it twice.
    totals_applied: bool = False

    class Settings:
        name = "llm_session_messages"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel(
                [("project_id", 1), ("session_id", 1), ("seq", 1)],
                name="project_session_seq",
            ),
        ]


def message_key(project_id: str, session_id: str, message_id: str) -> str:
    """The `_id` of a message: unique per session through the primary key."""
    return f"{project_id}:{session_id}:{message_id}"
