"""What live subscribers narrow their feeds by, checked in memory per event."""

from dataclasses import dataclass
from typing import Protocol

from app.documents import Session
from app.documents.log import Status
from app.documents.session import SessionStatus
from app.pubsub import SessionChange


class CallFacts(Protocol):
    """What a live filter reads from a call: a stored `Log` or a `UsageEntry`."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def cost_usd(self) -> float | None: ...
    @property
    def duration_ms(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class LiveCallFilter:
    """Which new calls a subscriber wants; empty means every call of the project."""

    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    user_id: str | None = None
    session_id: str | None = None
    min_cost_usd: float | None = None
    min_duration_ms: float | None = None

    def matches(self, call: CallFacts) -> bool:
        """True when `call` passes every condition that is set.

        A call with no known cost (or duration) never passes a minimum on it:
        unknown is not "at least".
        """
        return (
            (not self.providers or call.provider in self.providers)
            and (not self.models or call.model in self.models)
            and (not self.environments or call.environment in self.environments)
            and (not self.statuses or call.status in self.statuses)
            and (self.user_id is None or call.user_id == self.user_id)
            and (self.session_id is None or call.session_id == self.session_id)
            and _at_least(call.cost_usd, self.min_cost_usd)
            and _at_least(call.duration_ms, self.min_duration_ms)
        )


def _at_least(value: float | None, minimum: float | None) -> bool:
    if minimum is None:
        return True
    return value is not None and value >= minimum


@dataclass(frozen=True, slots=True)
class SessionUpdateFilter:
    """Which session changes a subscriber wants; empty means all of them."""

    changes: tuple[SessionChange, ...] = ()
    session_id: str | None = None
    user_id: str | None = None
    statuses: tuple[SessionStatus, ...] = ()

    def matches(self, session: Session, change: SessionChange) -> bool:
        return (
            (not self.changes or change in self.changes)
            and (self.session_id is None or session.session_id == self.session_id)
            and (self.user_id is None or session.user_id == self.user_id)
            and (not self.statuses or session.status in self.statuses)
        )
