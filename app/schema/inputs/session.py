"""Inputs for filtering, sorting, starting and adding to sessions."""

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.documents.log import MetadataValue
from app.documents.session import SessionStatus as StoredStatus
from app.errors import InvalidInput
from app.schema.inputs.log import utc_or_none
from app.schema.types.session import SessionStatus
from app.schema.types.session_message import MessageRole
from app.services.session_filters import SessionFilter, SessionOrder
from app.services.session_filters import SessionSortField as SessionSortFieldName
from app.services.session_input import MessageIn, SessionStartIn

_MAX_METADATA_KEY_CHARS = 64


def metadata_value(value: object, field: str) -> MetadataValue:
    """A flat metadata value (string, number or boolean), or `InvalidInput`."""
    if isinstance(value, str | int | float | bool):
        return value
    message = f"{field} must be a string, number or boolean"
    raise InvalidInput(message, field=field)


def flat_metadata(value: object, field: str) -> dict[str, MetadataValue]:
    """A flat object of string, number and boolean values, or `InvalidInput`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        message = f"{field} must be a flat object of string, number and boolean values"
        raise InvalidInput(message, field=field)
    return {str(key): metadata_value(item, field) for key, item in value.items()}


@strawberry.input(description="A metadata key and the value it must equal.")
class MetadataEntryInput:
    key: str
    value: JSON = strawberry.field(description="A string, number or boolean.")

    def to_pair(self) -> tuple[str, MetadataValue]:
        key = self.key
        if not key or len(key) > _MAX_METADATA_KEY_CHARS or "." in key or key[0] == "$":
            message = (
                f"metadata key {key[:80]!r} is not allowed: use 1 to "
                f"{_MAX_METADATA_KEY_CHARS} characters without '.' or a leading '$'"
            )
            raise InvalidInput(message, field="filter.metadata.key")
        return key, metadata_value(self.value, "filter.metadata.value")


def _ordered(since: datetime | None, before: datetime | None, name: str) -> None:
    if since is not None and before is not None and since >= before:
        message = f"{name} must describe a non-empty range: the start before the end"
        raise InvalidInput(message, field=name)


@strawberry.input(
    description=(
        "Narrows a list or statistic of sessions. Every field is optional; all "
        "given conditions must hold."
    )
)
class SessionFilterInput:
    user_id: str | None = None
    statuses: list[SessionStatus] | None = strawberry.field(
        default=None,
        description="Any of these; ACTIVE and ABANDONED follow the inactivity timeout.",
    )
    models: list[str] | None = strawberry.field(
        default=None, description="Sessions that used any of these models."
    )
    start: datetime | None = strawberry.field(
        default=None,
        description="With end: sessions with activity in [start, end) (inclusive).",
    )
    end: datetime | None = strawberry.field(default=None, description="Exclusive.")
    started_since: datetime | None = strawberry.field(
        default=None, description="Started at or after this time."
    )
    started_before: datetime | None = strawberry.field(
        default=None, description="Started before this time."
    )
    active_since: datetime | None = strawberry.field(
        default=None, description="Last activity at or after this time."
    )
    active_before: datetime | None = strawberry.field(
        default=None, description="Last activity before this time."
    )
    min_cost_usd: float | None = strawberry.field(
        default=None, description="Call cost at least this many USD."
    )
    has_errors: bool | None = strawberry.field(
        default=None, description="true: at least one failed call; false: none."
    )
    metadata: list[MetadataEntryInput] | None = strawberry.field(
        default=None, description="Every key must equal its value."
    )

    def to_filter(self) -> SessionFilter:
        start = utc_or_none(self.start, "filter.start")
        end = utc_or_none(self.end, "filter.end")
        started_since = utc_or_none(self.started_since, "filter.startedSince")
        started_before = utc_or_none(self.started_before, "filter.startedBefore")
        since = utc_or_none(self.active_since, "filter.activeSince")
        before = utc_or_none(self.active_before, "filter.activeBefore")
        _ordered(start, end, "filter.start")
        _ordered(started_since, started_before, "filter.startedSince")
        _ordered(since, before, "filter.activeSince")
        if self.min_cost_usd is not None and self.min_cost_usd < 0:
            message = "filter.minCostUsd must be zero or more"
            raise InvalidInput(message, field="filter.minCostUsd")
        return SessionFilter(
            user_id=self.user_id,
            statuses=tuple(
                cast(StoredStatus, status.value) for status in self.statuses or ()
            ),
            models=tuple(self.models or ()),
            start=start,
            end=end,
            started_since=started_since,
            started_before=started_before,
            active_since=since,
            active_before=before,
            min_cost_usd=self.min_cost_usd,
            has_errors=self.has_errors,
            metadata=tuple(entry.to_pair() for entry in self.metadata or ()),
        )


@strawberry.enum(description="What sessions can be sorted by.")
class SessionSortField(Enum):
    STARTED_AT = "started_at"
    LAST_ACTIVITY_AT = "last_activity_at"
    COST = strawberry.enum_value("cost_usd", description="Call cost, USD.")
    CALLS = strawberry.enum_value("call_count", description="Number of calls.")
    DURATION = strawberry.enum_value(
        "duration_ms", description="Summed latency of the session's calls."
    )


@strawberry.input(description="Sort order; ties are broken by session id.")
class SessionSortInput:
    field: SessionSortField = SessionSortField.LAST_ACTIVITY_AT
    descending: bool = True

    def to_order(self) -> SessionOrder:
        return SessionOrder(
            field=cast(SessionSortFieldName, self.field.value),
            descending=self.descending,
        )


@strawberry.input(description="A conversation to start. Every field is optional.")
class StartSessionInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Your session id; generated when omitted. Starting an id that exists "
            "(for example created by a call) returns that session with this user "
            "and metadata added; its totals and status are left alone."
        ),
    )
    user_id: str | None = None
    metadata: JSON | None = strawberry.field(
        default=None, description="Flat object of string, number and boolean values."
    )
    started_at: datetime | None = strawberry.field(
        default=None, description="With a time zone; defaults to now."
    )

    def to_start(self) -> SessionStartIn:
        return SessionStartIn(
            session_id=self.id,
            user_id=self.user_id,
            metadata=flat_metadata(self.metadata, "metadata"),
            started_at=self.started_at,
        )


@strawberry.input(
    description=(
        "One turn of a conversation. The session is created if this is its first "
        "sign of life, and made ACTIVE again if it was abandoned."
    )
)
class AddSessionMessageInput:
    session_id: strawberry.ID
    role: MessageRole
    content: str | None = strawberry.field(
        default=None,
        description="Capped at the project's text limit; dropped when text storage is off.",
    )
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Your message id (no ':' and not starting with '#'; a UUID is fine). "
            "Sending it again returns the stored message and changes nothing, so "
            "retries are safe. Without it, a retry adds a second message."
        ),
    )
    timestamp: datetime | None = strawberry.field(
        default=None, description="With a time zone; defaults to now."
    )
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    duration_ms: float | None = None

    def to_message(self) -> MessageIn:
        return MessageIn(
            session_id=self.session_id,
            role=self.role.value,
            content=self.content,
            message_id=self.id,
            timestamp=self.timestamp,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost_usd,
            duration_ms=self.duration_ms,
        )


@strawberry.input(description="A time range [start, end), at most 93 days long.")
class ActivityRangeInput:
    start: datetime = strawberry.field(description="Inclusive, with a time zone.")
    end: datetime = strawberry.field(description="Exclusive, with a time zone.")

    def bounds(self) -> tuple[datetime, datetime]:
        return _utc(self.start, "range.start"), _utc(self.end, "range.end")


def _utc(value: datetime, field: str) -> datetime:
    moment = utc_or_none(value, field)
    if moment is None:  # pragma: no cover - the schema makes the argument required
        raise InvalidInput(f"{field} is required", field=field)
    return moment
