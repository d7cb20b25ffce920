"""The `Session` output type: one conversation and its running totals."""

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app import documents
from app.schema.types.log import Log, PageInfo


@strawberry.enum(description="Where a conversation is in its life.")
class SessionStatus(Enum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


async def session_calls(root: "Session", info: strawberry.Info) -> list[Log]:
    rows = await info.context.loaders.logs_by_session.load(str(root.id))
    return [Log.from_document(row) for row in rows]


@strawberry.type(
    description=(
        "A conversation: the calls sharing a sessionId. Totals are kept as each "
        "call is stored, so they are exact and cheap to read."
    )
)
class Session:
    id: strawberry.ID = strawberry.field(description="The client's session id.")
    user_id: str | None
    status: SessionStatus
    started_at: datetime = strawberry.field(description="Earliest call (UTC).")
    last_activity_at: datetime = strawberry.field(description="Latest call (UTC).")
    ended_at: datetime | None
    call_count: int
    message_count: int
    error_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_prompt_tokens: int
    reasoning_tokens: int
    cost_usd: float = strawberry.field(description="USD, sum of priced calls only.")
    duration_ms: float = strawberry.field(description="Sum of the calls' latencies.")
    models: list[str] = strawberry.field(description="Models used, sorted.")
    providers: list[str] = strawberry.field(description="Providers used, sorted.")
    metadata: JSON

    calls: list[Log] = strawberry.field(
        resolver=session_calls,
        description="The session's calls in time order (at most 500).",
    )

    @classmethod
    def from_document(cls, session: documents.Session) -> "Session":
        return cls(
            id=strawberry.ID(session.session_id),
            user_id=session.user_id,
            status=SessionStatus(session.status),
            started_at=session.started_at,
            last_activity_at=session.last_activity_at,
            ended_at=session.ended_at,
            call_count=session.call_count,
            message_count=session.message_count,
            error_count=session.error_count,
            prompt_tokens=session.prompt_tokens,
            completion_tokens=session.completion_tokens,
            total_tokens=session.total_tokens,
            cached_prompt_tokens=session.cached_prompt_tokens,
            reasoning_tokens=session.reasoning_tokens,
            cost_usd=session.cost_usd,
            duration_ms=session.duration_ms,
            models=sorted(session.models),
            providers=sorted(session.providers),
            metadata=JSON(session.metadata),
        )


@strawberry.type(description="A page of sessions, most recently active first.")
class SessionPage:
    items: list[Session]
    total_count: int
    page_info: PageInfo
