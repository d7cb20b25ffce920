"""Inputs that narrow the live feeds (subscriptions)."""

from typing import cast

import strawberry

from app.documents.session import SessionStatus as StoredStatus
from app.errors import InvalidInput
from app.pubsub import SessionChange as SessionChangeKind
from app.schema.types.live import SessionChange
from app.schema.types.log import CallStatus
from app.schema.types.session import SessionStatus
from app.services.live import LiveCallFilter, SessionUpdateFilter

MIN_INTERVAL_S = 1
MAX_INTERVAL_S = 300
MIN_WINDOW_MINUTES = 1
MAX_WINDOW_MINUTES = 60


def _minimum(value: float | None, field: str) -> float | None:
    if value is not None and value < 0:
        message = f"{field} must be zero or more; leave it out to accept every call"
        raise InvalidInput(message, field=field)
    return value


@strawberry.input(
    description=(
        "Narrows a live feed of calls. Every field is optional; the fields that "
        "are set must all match."
    )
)
class LiveCallFilterInput:
    providers: list[str] | None = strawberry.field(
        default=None, description="Any of these providers (case-insensitive)."
    )
    models: list[str] | None = None
    environments: list[str] | None = None
    statuses: list[CallStatus] | None = None
    user_id: str | None = None
    session_id: str | None = None
    min_cost_usd: float | None = strawberry.field(
        default=None,
        description="Only calls that cost at least this (USD). Calls without a known cost never match.",
    )
    min_duration_ms: float | None = strawberry.field(
        default=None,
        description="Only calls at least this slow. Calls without a duration never match.",
    )

    def to_filter(self) -> LiveCallFilter:
        return LiveCallFilter(
            providers=tuple(provider.lower() for provider in self.providers or ()),
            models=tuple(self.models or ()),
            environments=tuple(self.environments or ()),
            statuses=tuple(status.value for status in self.statuses or ()),
            user_id=self.user_id,
            session_id=self.session_id,
            min_cost_usd=_minimum(self.min_cost_usd, "filter.minCostUsd"),
            min_duration_ms=_minimum(self.min_duration_ms, "filter.minDurationMs"),
        )


@strawberry.input(
    description=(
        "Narrows a live feed of session changes. Every field is optional; the "
        "fields that are set must all match."
    )
)
class SessionUpdateFilterInput:
    changes: list[SessionChange] | None = strawberry.field(
        default=None, description="Only these kinds of change."
    )
    session_id: str | None = None
    user_id: str | None = None
    statuses: list[SessionStatus] | None = strawberry.field(
        default=None, description="Only sessions in these states after the change."
    )

    def to_filter(self) -> SessionUpdateFilter:
        return SessionUpdateFilter(
            changes=tuple(
                cast("SessionChangeKind", change.value) for change in self.changes or ()
            ),
            session_id=self.session_id,
            user_id=self.user_id,
            statuses=tuple(
                cast("StoredStatus", status.value) for status in self.statuses or ()
            ),
        )


def checked_interval_s(interval_seconds: int) -> int:
    if not MIN_INTERVAL_S <= interval_seconds <= MAX_INTERVAL_S:
        message = (
            f"intervalSeconds must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S}; "
            f"got {interval_seconds}"
        )
        raise InvalidInput(message, field="intervalSeconds")
    return interval_seconds


def checked_window_minutes(window_minutes: int) -> int:
    if not MIN_WINDOW_MINUTES <= window_minutes <= MAX_WINDOW_MINUTES:
        message = (
            f"windowMinutes must be between {MIN_WINDOW_MINUTES} and "
            f"{MAX_WINDOW_MINUTES}; got {window_minutes}"
        )
        raise InvalidInput(message, field="windowMinutes")
    return window_minutes
