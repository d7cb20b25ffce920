"""The `SessionMessage` output type: one turn of a conversation."""

from datetime import datetime
from enum import Enum

import strawberry

from app import documents
from app.schema.types.log import PageInfo


@strawberry.enum(description="Who spoke in a conversation turn.")
class MessageRole(Enum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


@strawberry.type(
    description=(
        "One turn of a conversation. Messages are the transcript: the tokens, cost "
        "and duration a client reports on them are summed into the session's "
        "message totals, apart from its calls."
    )
)
class SessionMessage:
    id: strawberry.ID = strawberry.field(
        description="The client's message id, or #<seq> when it sent none."
    )
    session_id: str
    seq: int = strawberry.field(
        description=(
            "Position in the conversation, from 1, handed out atomically as messages "
            "arrive; a failed write may leave a gap, never a duplicate."
        )
    )
    role: MessageRole
    content: str | None = strawberry.field(
        description="Text, capped at the project's limit; null when text storage is off."
    )
    content_truncated: bool
    timestamp: datetime = strawberry.field(
        description="When the client says the turn happened (UTC); order is by seq."
    )
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = strawberry.field(description="USD, as the client reported it.")
    duration_ms: float

    @classmethod
    def from_document(cls, message: documents.SessionMessage) -> "SessionMessage":
        return cls(
            id=strawberry.ID(message.message_id),
            session_id=message.session_id,
            seq=message.seq,
            role=MessageRole(message.role),
            content=message.content,
            content_truncated=message.content_truncated,
            timestamp=message.timestamp,
            prompt_tokens=message.prompt_tokens,
            completion_tokens=message.completion_tokens,
            cost_usd=message.cost_usd,
            duration_ms=message.duration_ms,
        )


@strawberry.type(description="A page of messages in conversation order.")
class SessionMessagePage:
    items: list[SessionMessage]
    total_count: int
    page_info: PageInfo
