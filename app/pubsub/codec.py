"""Events as JSON, for brokers that carry them between processes.

One message holds one published batch: `{"events": [...]}`, each event tagged
with its kind. Documents travel as `model_dump(mode="json")` and are validated
back into the same document classes, so a subscriber in another process sees
exactly what the publisher stored.
"""

import json
from collections.abc import Sequence
from typing import Any

import structlog
from pydantic import ValidationError

from app.documents import Log, Session
from app.pubsub.events import CallLogged, SessionUpdated

log = structlog.get_logger(__name__)

_SESSION_CHANGES = frozenset(
    {"created", "totals_changed", "message_added", "completed", "abandoned", "deleted"}
)


class UndecodableMessage(ValueError):
    """A broker message that is not a batch of events this version knows."""


def _encode_event(event: object) -> dict[str, Any]:
    if isinstance(event, CallLogged):
        return {
            "kind": "call_logged",
            "project_id": event.project_id,
            "log": event.log.model_dump(mode="json", by_alias=True),
        }
    if isinstance(event, SessionUpdated):
        return {
            "kind": "session_updated",
            "project_id": event.project_id,
            "change": event.change,
            "session": event.session.model_dump(mode="json", by_alias=True),
        }
    message = (
        f"no wire format for {type(event).__name__}; add one in app/pubsub/codec.py"
    )
    raise TypeError(message)


def encode_events(events: Sequence[object]) -> bytes:
    """One broker message for a batch of events."""
    body = {"events": [_encode_event(event) for event in events]}
    return json.dumps(body, separators=(",", ":")).encode()


def _decode_event(raw: dict[str, Any]) -> object | None:
    kind = raw.get("kind")
    if kind == "call_logged":
        return CallLogged(
            project_id=str(raw["project_id"]), log=Log.model_validate(raw["log"])
        )
    if kind == "session_updated" and raw.get("change") in _SESSION_CHANGES:
        return SessionUpdated(
            project_id=str(raw["project_id"]),
            session=Session.model_validate(raw["session"]),
            change=raw["change"],
        )
    # A newer process may publish kinds this one does not know: skip them.
    log.warning("event.unknown_kind", kind=kind)
    return None


def decode_events(payload: bytes | str) -> list[object]:
    """The events of one broker message; raise `UndecodableMessage` if malformed."""
    try:
        body = json.loads(payload)
        raw_events = body["events"]
        if not isinstance(raw_events, list):
            raise TypeError("events is not a list")
        decoded = [_decode_event(raw) for raw in raw_events]
    except (ValueError, KeyError, TypeError, ValidationError) as error:
        message = f"not an event batch: {type(error).__name__}"
        raise UndecodableMessage(message) from error
    return [event for event in decoded if event is not None]
