"""Events published after a write, one frozen dataclass per kind."""

from dataclasses import dataclass
from typing import Literal

from app.documents import Log, Session

SessionChange = Literal[
    "created", "totals_changed", "message_added", "completed", "abandoned", "deleted"
]


@dataclass(frozen=True, slots=True)
class CallLogged:
    """A call was stored for the first time (retries publish nothing)."""

    project_id: str
    log: Log


@dataclass(frozen=True, slots=True)
class CallsLogged:
    """A batch of calls was stored for the first time, in the order sent.

    Batches publish once rather than once per call, so a broker that crosses
    processes carries one message per batch.
    """

    project_id: str
    logs: tuple[Log, ...]


def calls_topic(project_id: str) -> str:
    """Each project has its own topic, so events never cross tenants."""
    return f"calls:{project_id}"


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """A session changed; `session` is its state after the change."""

    project_id: str
    session: Session
    change: SessionChange


def sessions_topic(project_id: str) -> str:
    """Session events of one project."""
    return f"sessions:{project_id}"
