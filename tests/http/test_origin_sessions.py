"""The origin's REST session routes, with the bodies and headers its SDK sends."""

import uuid
from typing import Any

import httpx

from tests.api.conversations import record
from tests.factories import TestProject

SESSION_KEYS = {
    "sessionId",
    "userId",
    "projectId",
    "provider",
    "model",
    "startTime",
    "endTime",
    "lastActivity",
    "totalTokens",
    "totalCost",
    "totalDuration",
    "messageCount",
    "status",
    "metadata",
    "callCount",
    "errorCount",
    "callCost",
    "callTokens",
    "callDuration",
}


def sdk_headers(key: str) -> dict[str, str]:
    """What the origin SDK sends: its projectId setting, here an ingest key."""
    return {"Content-Type": "application/json", "X-Project-ID": key}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def is_js_date(value: Any) -> bool:
    """`Date.toJSON()`: 2026-01-15T18:25:26.123Z."""
    return isinstance(value, str) and len(value) == 24 and value.endswith("Z")


async def create(client: httpx.AsyncClient, project: TestProject) -> httpx.Response:
    return await client.post(
        "/api/sessions",
        json={
            "sessionId": "session-1",
            "userId": "senior-dev-01",
            "projectId": "lumen-frontend",
            "provider": "gemini",
            "model": "gemini-2.5-flash",
            "metadata": {
                "testMode": True,
                "description": "React useEffect debugging session",
                "environment": "development",
            },
        },
        headers=sdk_headers(project.ingest),
    )


async def post_message(
    client: httpx.AsyncClient, project: TestProject, **fields: Any
) -> httpx.Response:
    body = {"id": str(uuid.uuid4()), **fields}
    return await client.post(
        "/api/sessions/session-1/messages",
        json=body,
        headers=sdk_headers(project.ingest),
    )


async def test_create_answers_201_with_the_origins_session_shape(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await create(client, project)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"success", "session"}
    assert body["success"] is True
    session = body["session"]
    assert set(session) == SESSION_KEYS | {"messages", "messagesTruncated"}
    assert {
        name: session[name]
        for name in (
            "sessionId",
            "userId",
            "projectId",
            "provider",
            "model",
            "endTime",
            "messages",
            "totalTokens",
            "totalCost",
            "totalDuration",
            "messageCount",
            "status",
            "metadata",
        )
    } == {
        "sessionId": "session-1",
        "userId": "senior-dev-01",
        "projectId": project.id,
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "endTime": None,
        "messages": [],
        "totalTokens": 0,
        "totalCost": 0.0,
        "totalDuration": 0.0,
        "messageCount": 0,
        "status": "active",
        "metadata": {
            "testMode": True,
            "description": "React useEffect debugging session",
            "environment": "development",
        },
    }
    assert is_js_date(session["startTime"])
    assert session["lastActivity"] == session["startTime"]

    again = await create(client, project)
    assert again.status_code == 200
    assert again.json()["session"]["sessionId"] == "session-1"


async def test_messages_add_to_the_totals_and_read_back_in_order(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await create(client, project)
    user_turn = await post_message(
        client, project, role="user", content="Why does my effect run twice?"
    )
    answer = await post_message(
        client,
        project,
        role="assistant",
        content="Strict Mode mounts twice in development.",
        promptTokens=120,
        completionTokens=40,
        cost=0.0021,
        duration=850,
    )

    assert user_turn.status_code == 200
    assert answer.status_code == 200
    added = answer.json()
    assert set(added) == {"success", "session", "message"}
    assert set(added["session"]) == SESSION_KEYS
    assert added["session"]["messageCount"] == 2
    assert added["session"]["totalTokens"] == 160
    assert added["message"] == {
        "id": added["message"]["id"],
        "timestamp": added["message"]["timestamp"],
        "role": "assistant",
        "content": "Strict Mode mounts twice in development.",
        "promptTokens": 120,
        "completionTokens": 40,
        "cost": 0.0021,
        "duration": 850.0,
    }
    assert is_js_date(added["message"]["timestamp"])

    detail = await client.get("/api/sessions/session-1", headers=bearer(project.reader))

    assert detail.status_code == 200
    session = detail.json()
    assert set(session) == SESSION_KEYS | {"messages", "messagesTruncated"}
    assert [(m["role"], m["content"]) for m in session["messages"]] == [
        ("user", "Why does my effect run twice?"),
        ("assistant", "Strict Mode mounts twice in development."),
    ]
    assert session["messages"][0]["promptTokens"] == 0
    assert (session["totalCost"], session["totalDuration"]) == (0.0021, 850.0)
    assert session["messagesTruncated"] is False


async def test_a_message_to_an_unknown_session_creates_it(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await post_message(client, project, role="user", content="hello")

    assert response.status_code == 200
    assert response.json()["session"]["sessionId"] == "session-1"
    assert response.json()["session"]["messageCount"] == 1


async def test_list_filters_and_pages_like_the_origin(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    for index, user_id in enumerate(["ann", "bob", "ann"]):
        await record(
            client,
            project.ingest,
            id=f"c{index}",
            sessionId=f"s{index}",
            userId=user_id,
            timestamp=f"2026-11-0{index + 1}T12:00:00Z",
        )

    everything = await client.get("/api/sessions", headers=bearer(project.reader))
    ann = await client.get(
        "/api/sessions",
        params={"userId": "ann", "limit": "1", "skip": "1"},
        headers=bearer(project.reader),
    )
    dated = await client.get(
        "/api/sessions",
        params={"startDate": "2026-11-02", "endDate": "2026-11-02"},
        headers=bearer(project.reader),
    )
    abandoned = await client.get(
        "/api/sessions", params={"status": "abandoned"}, headers=bearer(project.reader)
    )

    assert everything.status_code == 200
    listed = everything.json()
    assert set(listed) == {"sessions", "total", "limit", "skip"}
    assert (listed["total"], listed["limit"], listed["skip"]) == (3, 50, 0)
    assert [row["sessionId"] for row in listed["sessions"]] == ["s2", "s1", "s0"]
    assert set(listed["sessions"][0]) == SESSION_KEYS
    assert listed["sessions"][0]["callCount"] == 1
    assert ann.json()["total"] == 2
    assert [row["sessionId"] for row in ann.json()["sessions"]] == ["s0"]
    assert [row["sessionId"] for row in dated.json()["sessions"]] == ["s1"]
    assert abandoned.json()["total"] == 3


async def test_complete_then_stats_then_delete(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await create(client, project)
    await post_message(
        client, project, role="user", content="q", cost=0.5, duration=100
    )
    await post_message(
        client, project, role="assistant", content="a", cost=0.25, duration=300
    )
    await client.post(
        "/api/sessions/other/messages",
        json={"role": "user", "content": "x", "cost": 0.25},
        headers=sdk_headers(project.ingest),
    )

    completed = await client.patch(
        "/api/sessions/session-1/complete", headers=sdk_headers(project.ingest)
    )
    summary = await client.get(
        "/api/sessions/stats/summary", headers=bearer(project.reader)
    )

    assert completed.status_code == 200
    done = completed.json()["session"]
    assert (done["status"], is_js_date(done["endTime"])) == ("completed", True)
    assert summary.status_code == 200
    assert summary.json() == {
        "_id": None,
        "totalSessions": 2,
        "avgMessagesPerSession": 1.5,
        "avgCostPerSession": 0.5,
        "avgDurationPerSession": 200.0,
        "totalCost": 1.0,
        "totalMessages": 3,
    }

    refused = await client.delete(
        "/api/sessions/session-1", headers=bearer(project.ingest)
    )
    deleted = await client.delete(
        "/api/sessions/session-1", headers=bearer(project.admin)
    )
    gone = await client.get("/api/sessions/session-1", headers=bearer(project.reader))

    assert refused.status_code == 403
    assert deleted.status_code == 200
    assert deleted.json() == {
        "success": True,
        "sessionId": "session-1",
        "deletedMessages": 2,
        "unlinkedCalls": 0,
    }
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NOT_FOUND"


async def test_stats_of_an_empty_project_are_an_empty_object(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await client.get(
        "/api/sessions/stats/summary", headers=bearer(project.reader)
    )

    assert (response.status_code, response.json()) == (200, {})


async def test_errors_are_coded_and_change_nothing(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    no_key = await client.get("/api/sessions")
    wrong_scope = await client.get("/api/sessions", headers=bearer(project.ingest))
    missing = await client.patch(
        "/api/sessions/nope/complete", headers=bearer(project.ingest)
    )
    not_json = await client.post(
        "/api/sessions",
        content=b"{not json",
        headers={"Content-Type": "application/json", **bearer(project.ingest)},
    )
    bad_role = await post_message(client, project, role="robot", content="x")
    bad_tokens = await post_message(client, project, role="user", promptTokens="12")
    bad_limit = await client.get(
        "/api/sessions", params={"limit": "lots"}, headers=bearer(project.reader)
    )
    bad_status = await client.get(
        "/api/sessions", params={"status": "paused"}, headers=bearer(project.reader)
    )
    nested = await client.post(
        "/api/sessions",
        json={"sessionId": "n", "metadata": {"deep": {"x": 1}}},
        headers=bearer(project.ingest),
    )

    assert no_key.status_code == 401
    assert wrong_scope.status_code == 403
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")
    for response, field in (
        (not_json, "body"),
        (bad_role, "role"),
        (bad_tokens, "promptTokens"),
        (bad_limit, "limit"),
        (bad_status, "status"),
        (nested, "metadata"),
    ):
        assert response.status_code == 400, field
        assert response.json()["error"]["code"] == "INVALID_INPUT"
        assert response.json()["error"]["field"] == field
    listed = await client.get("/api/sessions", headers=bearer(project.reader))
    assert listed.json()["total"] == 0


async def test_another_projects_key_finds_nothing(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    await create(client, project)

    detail = await client.get(
        "/api/sessions/session-1", headers=bearer(other_project.reader)
    )
    listed = await client.get("/api/sessions", headers=bearer(other_project.reader))
    completed = await client.patch(
        "/api/sessions/session-1/complete", headers=bearer(other_project.ingest)
    )
    deleted = await client.delete(
        "/api/sessions/session-1", headers=bearer(other_project.admin)
    )
    summary = await client.get(
        "/api/sessions/stats/summary", headers=bearer(other_project.reader)
    )

    assert detail.status_code == 404
    assert listed.json()["total"] == 0
    assert completed.status_code == 404
    assert deleted.status_code == 404
    assert summary.json() == {}
