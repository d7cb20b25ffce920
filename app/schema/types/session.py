"""The `Session` output type: one conversation and its running totals."""

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from app import documents
from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.types.log import Log, PageInfo
from app.schema.types.session_message import SessionMessage, SessionMessagePage
from app.services import session_messages

if TYPE_CHECKING:
    from app.schema.types.user import User


@strawberry.enum(description="Where a conversation is in its life.")
class SessionStatus(Enum):
    ACTIVE = strawberry.enum_value(
        "active",
        description="Not completed, and active within the project's inactivity timeout.",
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="Completed by a client (completeSession)."
    )
    ABANDONED = strawberry.enum_value(
        "abandoned",
        description=(
            "Not completed, and inactive for longer than the project's timeout "
            "(default 30 minutes). Decided when read, so always current; new "
            "activity makes the session ACTIVE again."
        ),
    )


async def session_calls(root: "Session", info: strawberry.Info) -> list[Log]:
    rows = await info.context.loaders.logs_by_session.load(str(root.id))
    return [Log.from_document(row) for row in rows]


async def session_messages_page(
    root: "Session",
    info: strawberry.Info,
    pagination: PaginationInput = DEFAULT_PAGINATION,
) -> SessionMessagePage:
    context = info.context
    page = await session_messages.list_messages(
        context.caller.project_id,
        str(root.id),
        first=pagination.page_size(context.settings.max_page_size),
        after=pagination.after,
    )
    return SessionMessagePage(
        items=[SessionMessage.from_document(row) for row in page.items],
        total_count=page.total_count,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor
        ),
    )


async def _message_at(
    root: "Session", info: strawberry.Info, seq: int | None
) -> SessionMessage | None:
    if seq is None:
        return None
    row = await info.context.loaders.message_at.load((str(root.id), seq))
    return SessionMessage.from_document(row) if row is not None else None


async def first_user_message(
    root: "Session", info: strawberry.Info
) -> SessionMessage | None:
    return await _message_at(root, info, root.first_user_seq)


async def last_assistant_message(
    root: "Session", info: strawberry.Info
) -> SessionMessage | None:
    return await _message_at(root, info, root.last_assistant_seq)


async def session_user(
    root: "Session", info: strawberry.Info
) -> Annotated["User", strawberry.lazy("app.schema.types.user")] | None:
    from app.schema.types.user import User  # here: the two types refer to each other

    if root.user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(root.user_id)
    return User.from_document(row) if row is not None else None


@strawberry.type(
    description=(
        "A conversation: the calls and messages sharing a sessionId. Totals are "
        "kept as each call and message is stored, so they are exact and cheap to "
        "read. Call totals (callCount … durationMs) are the spend; message totals "
        "(message*) are what clients reported on the transcript, kept apart so "
        "that a turn sent both as a call and as a message is not counted twice."
    )
)
class Session:
    id: strawberry.ID = strawberry.field(description="The client's session id.")
    user_id: str | None
    status: SessionStatus
    started_at: datetime = strawberry.field(
        description="Earliest call, message or explicit start (UTC)."
    )
    last_activity_at: datetime = strawberry.field(
        description="Latest call or message (UTC)."
    )
    ended_at: datetime | None = strawberry.field(
        description="When it was completed; for an abandoned session, its last activity."
    )
    call_count: int
    error_count: int = strawberry.field(description="Calls that failed.")
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_prompt_tokens: int
    reasoning_tokens: int
    cost_usd: float = strawberry.field(description="USD, sum of priced calls only.")
    duration_ms: float = strawberry.field(description="Sum of the calls' latencies.")
    wall_duration_ms: float = strawberry.field(
        description="Last activity minus start, in milliseconds."
    )
    error_rate: float | None = strawberry.field(
        description="errorCount / callCount; null without calls."
    )
    message_count: int
    message_prompt_tokens: int
    message_completion_tokens: int
    message_cost_usd: float = strawberry.field(
        description="USD the clients reported on messages."
    )
    message_duration_ms: float
    models: list[str] = strawberry.field(description="Models used, sorted.")
    providers: list[str] = strawberry.field(description="Providers used, sorted.")
    metadata: JSON
    first_user_seq: strawberry.Private[int | None]
    last_assistant_seq: strawberry.Private[int | None]

    calls: list[Log] = strawberry.field(
        resolver=session_calls,
        description="The session's calls in time order (at most 500).",
    )
    messages: SessionMessagePage = strawberry.field(
        resolver=session_messages_page,
        description="The messages in conversation order (by seq).",
    )
    first_user_message: SessionMessage | None = strawberry.field(
        resolver=first_user_message,
        description="Preview: the first message with role USER.",
    )
    last_assistant_message: SessionMessage | None = strawberry.field(
        resolver=last_assistant_message,
        description="Preview: the last message with role ASSISTANT.",
    )
    user: Annotated["User", strawberry.lazy("app.schema.types.user")] | None = (
        strawberry.field(
            resolver=session_user,
            description="The user the session belongs to, with their lifetime totals.",
        )
    )

    @classmethod
    def from_document(cls, session: documents.Session) -> "Session":
        wall = (session.last_activity_at - session.started_at).total_seconds() * 1000
        return cls(
            id=strawberry.ID(session.session_id),
            user_id=session.user_id,
            status=SessionStatus(session.status),
            started_at=session.started_at,
            last_activity_at=session.last_activity_at,
            ended_at=session.ended_at,
            call_count=session.call_count,
            error_count=session.error_count,
            prompt_tokens=session.prompt_tokens,
            completion_tokens=session.completion_tokens,
            total_tokens=session.total_tokens,
            cached_prompt_tokens=session.cached_prompt_tokens,
            reasoning_tokens=session.reasoning_tokens,
            cost_usd=session.cost_usd,
            duration_ms=session.duration_ms,
            wall_duration_ms=max(wall, 0.0),
            error_rate=session.error_count / session.call_count
            if session.call_count
            else None,
            message_count=session.message_count,
            message_prompt_tokens=session.message_prompt_tokens,
            message_completion_tokens=session.message_completion_tokens,
            message_cost_usd=session.message_cost_usd,
            message_duration_ms=session.message_duration_ms,
            models=sorted(session.models),
            providers=sorted(session.providers),
            metadata=JSON(session.metadata),
            first_user_seq=session.first_user_seq,
            last_assistant_seq=session.last_assistant_seq,
        )


@strawberry.type(description="A page of sessions in the requested order.")
class SessionPage:
    items: list[Session]
    total_count: int = strawberry.field(
        description="Sessions matching the filter, all pages."
    )
    page_info: PageInfo


@strawberry.type(
    description="The message stored by addSessionMessage, and its session."
)
class AddedSessionMessage:
    message: SessionMessage
    session: Session = strawberry.field(description="The session with its new totals.")
    created: bool = strawberry.field(
        description="False when the message id was already stored (a retry)."
    )


@strawberry.type(description="What deleteSession removed.")
class DeletedSession:
    id: strawberry.ID = strawberry.field(description="The deleted session's id.")
    messages_deleted: int
    calls_unlinked: int = strawberry.field(
        description="Calls kept but no longer linked to the session (sessionId now null)."
    )
