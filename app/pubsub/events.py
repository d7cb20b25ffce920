"""Events published after a write, one frozen dataclass per kind."""

from dataclasses import dataclass

from app.documents import Log


@dataclass(frozen=True, slots=True)
class CallLogged:
    """A call was stored for the first time (retries publish nothing)."""

    project_id: str
    log: Log


def calls_topic(project_id: str) -> str:
    """Each project has its own topic, so events never cross tenants."""
    return f"calls:{project_id}"
