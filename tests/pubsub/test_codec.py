"""Events survive the trip through JSON that the Redis broker makes them take."""

from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette

from app.documents import Log, Session
from app.documents.log import CallError
from app.pubsub import CallLogged, SessionUpdated
from app.pubsub.codec import UndecodableMessage, decode_events, encode_events


def stored_log() -> Log:
    now = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    return Log(
        _id="p:c-1",
        call_id="c-1",
        project_id="p",
        timestamp=now,
        received_at=now,
        provider="openai",
        model="gpt-4o-mini",
        user_id="u-1",
        session_id="s-1",
        tags=["a", "b"],
        metadata={"tier": "pro", "retries": 2, "beta": True, "score": 0.5},
        prompt="hello",
        prompt_tokens=100,
        completion_tokens=20,
        total_tokens=120,
        duration_ms=350.5,
        status="error",
        error=CallError(type="RateLimitError", message="slow down"),
        cost_usd=0.00123,
        cost_source="price_table",
        price_version="2026-02",
        totals_batch="b1",
    )


async def test_a_call_and_a_session_change_round_trip_unchanged(app: Starlette) -> None:
    log = stored_log()
    session = Session(
        _id="p:s-1",
        session_id="s-1",
        project_id="p",
        user_id="u-1",
        started_at=log.timestamp,
        last_activity_at=log.timestamp,
        call_count=3,
        cost_usd=0.5,
        models=["gpt-4o-mini"],
        metadata={"plan": "pro"},
    )
    events = [
        CallLogged("p", log),
        SessionUpdated("p", session, "totals_changed"),
    ]

    decoded = decode_events(encode_events(events))

    assert decoded == events
    assert isinstance(decoded[0], CallLogged)
    assert decoded[0].log.timestamp.tzinfo is not None


async def test_unknown_event_kinds_are_skipped_and_garbage_is_refused(
    app: Starlette,
) -> None:
    known = encode_events([CallLogged("p", stored_log())]).decode()
    mixed = known.replace('{"events":[', '{"events":[{"kind":"from_the_future"},')

    assert len(decode_events(mixed)) == 1
    for garbage in (
        b"not json",
        b'{"events": 3}',
        b'{"events": [{"kind": "call_logged"}]}',
    ):
        with pytest.raises(UndecodableMessage):
            decode_events(garbage)
    with pytest.raises(TypeError, match="no wire format"):
        encode_events([object()])
