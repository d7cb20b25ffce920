"""Project B's keys find nothing of project A's sessions, messages and users."""

from datetime import UTC, datetime, timedelta

import httpx

from app.documents import SessionMessage
from tests.api.conversations import (
    COMPLETE,
    DELETE,
    START,
    add_message,
    read_session,
    record,
)
from tests.factories import TestProject, gql

EVERYTHING = """
query Everything($range: ActivityRangeInput!) {
  sessions { totalCount items { id } }
  session(id: "a-chat") { id }
  sessionStats { count totals { callCount messageCount } }
  sessionOutliers(range: $range) { cut { population } items { session { id } } }
  users { totalCount items { id } }
  user(id: "a-user") { id }
  topUsers(range: $range) { userId }
  userOutliers(range: $range) { cut { population } }
}
"""


async def seed_project_a(client: httpx.AsyncClient, project: TestProject) -> None:
    await gql(
        client,
        START,
        {"input": {"id": "a-chat", "userId": "a-user"}},
        key=project.ingest,
    )
    await record(client, project.ingest, id="a1", sessionId="a-chat", userId="a-user")
    await add_message(
        client, project.ingest, id="a-m1", sessionId="a-chat", role="USER", content="A"
    )


async def test_every_query_of_project_b_sees_none_of_project_a(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    await seed_project_a(client, project)
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(minutes=1)).isoformat(),
    }

    seen_by_a = await gql(client, EVERYTHING, {"range": window}, key=project.reader)
    seen_by_b = await gql(
        client, EVERYTHING, {"range": window}, key=other_project.reader
    )

    assert seen_by_a.errors == []
    assert seen_by_a.data is not None
    assert seen_by_a.data["session"] == {"id": "a-chat"}
    assert seen_by_a.data["user"] == {"id": "a-user"}
    assert seen_by_b.errors == []
    assert seen_by_b.data == {
        "sessions": {"totalCount": 0, "items": []},
        "session": None,
        "sessionStats": {"count": 0, "totals": {"callCount": 0, "messageCount": 0}},
        "sessionOutliers": {"cut": {"population": 0}, "items": []},
        "users": {"totalCount": 0, "items": []},
        "user": None,
        "topUsers": [],
        "userOutliers": {"cut": {"population": 0}},
    }


async def test_project_b_cannot_change_project_as_sessions(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    await seed_project_a(client, project)

    completed = await gql(client, COMPLETE, {"id": "a-chat"}, key=other_project.ingest)
    deleted = await gql(client, DELETE, {"id": "a-chat"}, key=other_project.admin)
    retried = await add_message(
        client,
        other_project.ingest,
        id="a-m1",
        sessionId="a-chat",
        role="ASSISTANT",
        content="B",
    )

    assert completed.error_codes() == ["NOT_FOUND"]
    assert deleted.error_codes() == ["NOT_FOUND"]
    # The same session and message ids in B are B's own, new objects.
    assert retried["created"] is True
    a_session = await read_session(client, project.reader, "a-chat")
    assert a_session is not None
    assert (a_session["status"], a_session["messageCount"]) == ("ACTIVE", 1)
    a_message = await SessionMessage.get(f"{project.id}:a-chat:a-m1")
    assert a_message is not None
    assert a_message.content == "A"
    b_session = await read_session(client, other_project.reader, "a-chat")
    assert b_session is not None
    assert (b_session["messageCount"], b_session["callCount"]) == (1, 0)
