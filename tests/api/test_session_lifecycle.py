"""A session's life: started or implied, abandoned by the clock, completed, deleted."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx
from starlette.applications import Starlette

from app.documents import Log, SessionMessage
from app.services.maintenance import sweep_forever
from app.services.session_status import sweep_abandoned
from tests.api.conversations import (
    COMPLETE,
    DELETE,
    START,
    add_message,
    ago,
    read_session,
    record,
    session_events,
    set_project_settings,
)
from tests.factories import TestProject, gql

COMPARED = (
    "userId",
    "status",
    "callCount",
    "messageCount",
    "costUsd",
    "models",
    "providers",
    "metadata",
    "endedAt",
)


async def test_starting_first_or_calling_first_gives_the_same_session(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    started = await gql(
        client,
        START,
        {"input": {"id": "explicit", "userId": "u-1", "metadata": {"plan": "pro"}}},
        key=project.ingest,
    )
    assert started.errors == []
    await record(client, project.ingest, id="c1", sessionId="explicit", costUsd=0.5)

    await record(client, project.ingest, id="c2", sessionId="implicit", costUsd=0.5)
    again = await gql(
        client,
        START,
        {"input": {"id": "implicit", "userId": "u-1", "metadata": {"plan": "pro"}}},
        key=project.ingest,
    )
    assert again.errors == []

    explicit = await read_session(client, project.reader, "explicit")
    implicit = await read_session(client, project.reader, "implicit")
    assert explicit is not None
    assert implicit is not None
    assert {name: explicit[name] for name in COMPARED} == {
        name: implicit[name] for name in COMPARED
    }
    assert implicit["userId"] == "u-1"
    assert implicit["callCount"] == 1
    assert implicit["metadata"] == {"plan": "pro"}
    assert implicit["status"] == "ACTIVE"


async def test_a_message_creates_its_session_when_it_is_the_first_sign_of_life(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    added = await add_message(
        client, project.ingest, sessionId="from-message", role="USER", content="hi"
    )

    assert added["created"] is True
    assert added["message"]["seq"] == 1
    session = await read_session(client, project.reader, "from-message")
    assert session is not None
    assert session["status"] == "ACTIVE"
    assert session["messageCount"] == 1
    assert session["callCount"] == 0


async def test_a_session_idle_past_the_timeout_reads_abandoned_until_new_activity(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="old", sessionId="idle", timestamp=ago(45))
    statuses = """
    query ByStatus($statuses: [SessionStatus!]) {
      sessions(filter: {statuses: $statuses}) { items { id } }
    }
    """

    idle = await read_session(client, project.reader, "idle")
    assert idle is not None
    assert idle["status"] == "ABANDONED"
    assert idle["endedAt"] == idle["lastActivityAt"]
    abandoned = await gql(
        client, statuses, {"statuses": ["ABANDONED"]}, key=project.reader
    )
    active = await gql(client, statuses, {"statuses": ["ACTIVE"]}, key=project.reader)
    assert abandoned.data == {"sessions": {"items": [{"id": "idle"}]}}
    assert active.data == {"sessions": {"items": []}}

    await add_message(
        client, project.ingest, sessionId="idle", role="USER", content="back"
    )

    reopened = await read_session(client, project.reader, "idle")
    assert reopened is not None
    assert reopened["status"] == "ACTIVE"
    assert reopened["endedAt"] is None
    active = await gql(client, statuses, {"statuses": ["ACTIVE"]}, key=project.reader)
    assert active.data == {"sessions": {"items": [{"id": "idle"}]}}


async def test_the_projects_inactivity_timeout_decides_abandonment(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="a", sessionId="slow", timestamp=ago(45))
    await set_project_settings(project, session_timeout_minutes=60)

    slow = await read_session(client, project.reader, "slow")
    assert slow is not None
    assert slow["status"] == "ACTIVE"

    await set_project_settings(project, session_timeout_minutes=10)
    slow = await read_session(client, project.reader, "slow")
    assert slow is not None
    assert slow["status"] == "ABANDONED"


async def test_completing_is_final_and_later_calls_still_count(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="a", sessionId="done", timestamp=ago(2))

    completed = await gql(client, COMPLETE, {"id": "done"}, key=project.ingest)
    assert completed.errors == []
    assert completed.data is not None
    first = completed.data["completeSession"]
    assert first["status"] == "COMPLETED"
    assert first["endedAt"] is not None

    again = await gql(client, COMPLETE, {"id": "done"}, key=project.ingest)
    assert again.data is not None
    assert again.data["completeSession"]["endedAt"] == first["endedAt"]

    await record(client, project.ingest, id="late", sessionId="done")
    done = await read_session(client, project.reader, "done")
    assert done is not None
    assert done["status"] == "COMPLETED"
    assert done["callCount"] == 2


async def test_completing_an_unknown_session_is_not_found_and_needs_ingest_scope(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    missing = await gql(client, COMPLETE, {"id": "nope"}, key=project.ingest)
    refused = await gql(client, COMPLETE, {"id": "nope"}, key=project.reader)

    assert missing.error_codes() == ["NOT_FOUND"]
    assert "no session 'nope'" in missing.errors[0]["message"]
    assert refused.error_codes() == ["FORBIDDEN"]


async def test_deleting_removes_the_messages_and_unlinks_the_calls(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="kept-1", sessionId="gone", userId="u-9")
    await record(client, project.ingest, id="kept-2", sessionId="gone", userId="u-9")
    for text in ("question", "answer"):
        await add_message(
            client, project.ingest, sessionId="gone", role="USER", content=text
        )

    refused = await gql(client, DELETE, {"id": "gone"}, key=project.ingest)
    assert refused.error_codes() == ["FORBIDDEN"]
    deleted = await gql(client, DELETE, {"id": "gone"}, key=project.admin)

    assert deleted.errors == []
    assert deleted.data == {
        "deleteSession": {"id": "gone", "messagesDeleted": 2, "callsUnlinked": 2}
    }
    assert await read_session(client, project.reader, "gone") is None
    assert await SessionMessage.find({"project_id": project.id}).count() == 0
    calls = await gql(
        client,
        '{ a: log(id: "kept-1") { sessionId userId } b: log(id: "kept-2") { sessionId } }',
        key=project.reader,
    )
    assert calls.data == {
        "a": {"sessionId": None, "userId": "u-9"},
        "b": {"sessionId": None},
    }
    user = await gql(client, '{ user(id: "u-9") { callCount } }', key=project.reader)
    assert user.data == {"user": {"callCount": 2}}
    assert await Log.find({"project_id": project.id, "session_id": "gone"}).count() == 0

    again = await gql(client, DELETE, {"id": "gone"}, key=project.admin)
    assert again.error_codes() == ["NOT_FOUND"]


async def test_every_change_is_published_with_its_kind(
    app: Starlette, client: httpx.AsyncClient, project: TestProject
) -> None:
    async with session_events(app.state.broker, project) as events:
        await gql(client, START, {"input": {"id": "live"}}, key=project.ingest)
        await record(client, project.ingest, id="l1", sessionId="live")
        await add_message(client, project.ingest, sessionId="live", role="USER")
        await gql(client, COMPLETE, {"id": "live"}, key=project.ingest)
        await record(client, project.ingest, id="l2", sessionId="fresh")
        await add_message(client, project.ingest, sessionId="newer", role="USER")
        await gql(client, DELETE, {"id": "live"}, key=project.admin)

        received = await events.take(8)

    assert [(event.session.session_id, event.change) for event in received] == [
        ("live", "created"),
        ("live", "totals_changed"),
        ("live", "message_added"),
        ("live", "completed"),
        ("fresh", "created"),
        ("newer", "created"),
        ("newer", "message_added"),
        ("live", "deleted"),
    ]
    assert received[2].session.message_count == 1
    assert received[3].session.status == "completed"


async def test_the_sweep_stores_abandonment_and_publishes_it_once(
    app: Starlette, client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="s", sessionId="stale", timestamp=ago(90))
    await record(client, project.ingest, id="f", sessionId="recent", timestamp=ago(1))
    broker = app.state.broker

    async with session_events(broker, project) as events:
        await sweep_abandoned(broker, now=datetime.now(UTC))
        await sweep_abandoned(broker, now=datetime.now(UTC))
        await record(client, project.ingest, id="marker", sessionId="recent")
        received = await events.take(2)

    assert [(event.session.session_id, event.change) for event in received] == [
        ("stale", "abandoned"),
        ("recent", "totals_changed"),
    ]
    stored = await read_session(client, project.reader, "stale")
    assert stored is not None
    assert stored["status"] == "ABANDONED"


async def test_the_background_sweep_runs_until_cancelled(
    app: Starlette, client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(
        client, project.ingest, id="s", sessionId="forgotten", timestamp=ago(90)
    )
    broker = app.state.broker

    async with session_events(broker, project) as events:
        sweeper = asyncio.create_task(
            sweep_forever(broker, 0.01, uncounted_after=timedelta(minutes=5))
        )
        try:
            received = await events.take(1)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    assert [(event.session.session_id, event.change) for event in received] == [
        ("forgotten", "abandoned")
    ]
    assert sweeper.cancelled()
