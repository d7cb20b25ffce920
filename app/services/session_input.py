"""What clients send to start a session or add a message, and how it is checked.

Every route (GraphQL, the origin's REST API) converts its wire format into these
models and hands them to the session services; the checks run there once, with
the same limits as calls, and name the camelCase field at fault.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import get_args

from app.documents.log import MetadataValue
from app.documents.session_message import AUTO_ID_PREFIX, MessageRole
from app.errors import InvalidInput
from app.services.call_validation import (
    CallLimits,
    _metadata,
    _non_negative,
    _text,
    to_millis,
)

_MAX_ID_CHARS = 128
_ROLES: tuple[str, ...] = get_args(MessageRole)


@dataclass(frozen=True, slots=True)
class SessionStartIn:
    """A session a client starts explicitly; every field is optional."""

    session_id: str | None = None
    user_id: str | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    started_at: datetime | None = None
    provider: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class MessageIn:
    """One turn of a conversation as a client described it."""

    session_id: str | None
    role: str | None
    content: str | None = None
    message_id: str | None = None
    timestamp: datetime | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    duration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ValidStart:
    session_id: str | None
    user_id: str | None
    metadata: dict[str, MetadataValue]
    started_at: datetime
    provider: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class ValidMessage:
    session_id: str
    role: MessageRole
    content: str | None
    content_truncated: bool
    message_id: str | None
    timestamp: datetime
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    duration_ms: float


def session_id_or_none(value: str | None, limits: CallLimits) -> str | None:
    """A stripped session id within the string limit, or None when blank."""
    return _text(value, "sessionId", limits.max_string_chars)


def _moment(
    value: datetime | None, name: str, limits: CallLimits, now: datetime
) -> datetime:
    if value is None:
        return now
    if value.tzinfo is None:
        message = f"{name} needs a time zone, for example 2026-01-31T12:00:00Z"
        raise InvalidInput(message, field=name)
    moment = to_millis(value.astimezone(UTC))
    if moment > now + limits.max_future_skew:
        message = (
            f"{name} {moment.isoformat()} is in the future; check the sender's clock"
        )
        raise InvalidInput(message, field=name)
    return moment


def validate_start(
    start: SessionStartIn, limits: CallLimits, *, now: datetime
) -> ValidStart:
    """The checked start request, or `InvalidInput` naming the field."""
    now = to_millis(now)
    limit = limits.max_string_chars
    provider = _text(start.provider, "provider", limit)
    return ValidStart(
        session_id=session_id_or_none(start.session_id, limits),
        user_id=_text(start.user_id, "userId", limit),
        metadata=_metadata(start.metadata, limits),
        started_at=_moment(start.started_at, "startedAt", limits, now),
        provider=provider.lower() if provider is not None else None,
        model=_text(start.model, "model", limit),
    )


def _message_id(value: str | None) -> str | None:
    message_id = _text(value, "id", _MAX_ID_CHARS)
    if message_id is not None and (
        ":" in message_id or message_id.startswith(AUTO_ID_PREFIX)
    ):
        message = (
            f"id {message_id[:40]!r} is not allowed: message ids may not contain ':' "
            f"or start with {AUTO_ID_PREFIX!r}; a UUID is a good choice"
        )
        raise InvalidInput(message, field="id")
    return message_id


def _count(value: int | None, name: str) -> int:
    _non_negative(value, name)
    return value or 0


def validate_message(
    message: MessageIn, limits: CallLimits, *, now: datetime
) -> ValidMessage:
    """The checked message, its content capped by the project, or `InvalidInput`."""
    now = to_millis(now)
    session_id = session_id_or_none(message.session_id, limits)
    if session_id is None:
        text = "sessionId is required: the conversation this message belongs to"
        raise InvalidInput(text, field="sessionId")
    role = (message.role or "").strip().lower()
    if role not in _ROLES:
        text = f"role must be one of {', '.join(_ROLES)}; got {message.role!r}"
        raise InvalidInput(text, field="role")
    _non_negative(message.cost_usd, "costUsd")
    _non_negative(message.duration_ms, "durationMs")
    content, truncated = message.content, False
    if content is not None and not limits.store_text:
        content = None
    elif content is not None and len(content) > limits.max_text_chars:
        content, truncated = content[: limits.max_text_chars], True
    return ValidMessage(
        session_id=session_id,
        role=role,  # type: ignore[arg-type]  # checked against the Literal's values above
        content=content,
        content_truncated=truncated,
        message_id=_message_id(message.message_id),
        timestamp=_moment(message.timestamp, "timestamp", limits, now),
        prompt_tokens=_count(message.prompt_tokens, "promptTokens"),
        completion_tokens=_count(message.completion_tokens, "completionTokens"),
        cost_usd=message.cost_usd or 0.0,
        duration_ms=message.duration_ms or 0.0,
    )
