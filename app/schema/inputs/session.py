"""Inputs for filtering sessions."""

from datetime import datetime

import strawberry

from app.errors import InvalidInput
from app.schema.inputs.log import utc_or_none
from app.schema.types.session import SessionStatus
from app.services.sessions import SessionFilter


@strawberry.input(description="Narrows a list of sessions. Every field is optional.")
class SessionFilterInput:
    user_id: str | None = None
    statuses: list[SessionStatus] | None = None
    active_since: datetime | None = strawberry.field(
        default=None, description="Last activity at or after this time."
    )
    active_before: datetime | None = strawberry.field(
        default=None, description="Last activity before this time."
    )

    def to_filter(self) -> SessionFilter:
        since = utc_or_none(self.active_since, "filter.activeSince")
        before = utc_or_none(self.active_before, "filter.activeBefore")
        if since is not None and before is not None and since >= before:
            message = "filter.activeSince must be before filter.activeBefore"
            raise InvalidInput(message, field="filter.activeSince")
        return SessionFilter(
            user_id=self.user_id,
            statuses=tuple(status.value for status in self.statuses or ()),
            active_since=since,
            active_before=before,
        )
