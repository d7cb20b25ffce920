"""Sessions created by calls, with totals kept as each call is stored."""

import asyncio
from typing import Any

import httpx

from tests.api.test_log_call import LOG_CALL, call
from tests.factories import TestProject, gql

SESSION = """
query Session($id: ID!) {
  session(id: $id) {
    id userId status callCount errorCount promptTokens completionTokens totalTokens
    cachedPromptTokens reasoningTokens costUsd durationMs models providers
    startedAt lastActivityAt
    calls { id status }
  }
}
"""


async def record(client: httpx.AsyncClient, key: str, **fields: Any) -> None:
    result = await gql(client, LOG_CALL, {"input": call(**fields)}, key=key)
    assert result.errors == [], result.errors


async def test_session_totals_add_up_mixed_success_and_error_calls(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(
        client,
        project.ingest,
        id="a",
        sessionId="chat-1",
        userId="u-7",
        timestamp="2026-11-01T10:00:00Z",
        promptTokens=100,
        completionTokens=50,
        cachedPromptTokens=40,
        durationMs=200.0,
        costUsd=0.5,
    )
    await record(
        client,
        project.ingest,
        id="b",
        sessionId="chat-1",
        provider="anthropic",
        model="claude-sonnet-4",
        timestamp="2026-11-01T10:05:00Z",
        promptTokens=10,
        completionTokens=30,
        reasoningTokens=12,
        durationMs=800.0,
        costUsd=0.25,
    )
    await record(
        client,
        project.ingest,
        id="c",
        sessionId="chat-1",
        timestamp="2026-11-01T10:02:00Z",
        promptTokens=5,
        completionTokens=0,
        durationMs=50.0,
        statusCode=500,
        errorType="ServerError",
        costUsd=0.0,
    )

    result = await gql(client, SESSION, {"id": "chat-1"}, key=project.reader)

    assert result.data is not None
    session = result.data["session"]
    assert session == {
        "id": "chat-1",
        "userId": "u-7",
        "status": "ABANDONED",  # its last call is a month before now
        "callCount": 3,
        "errorCount": 1,
        "promptTokens": 115,
        "completionTokens": 80,
        "totalTokens": 195,
        "cachedPromptTokens": 40,
        "reasoningTokens": 12,
        "costUsd": 0.75,
        "durationMs": 1050.0,
        "models": ["claude-sonnet-4", "gpt-4o-mini"],
        "providers": ["anthropic", "openai"],
        "startedAt": "2026-11-01T10:00:00+00:00",
        "lastActivityAt": "2026-11-01T10:05:00+00:00",
        "calls": [
            {"id": "a", "status": "SUCCESS"},
            {"id": "c", "status": "ERROR"},
            {"id": "b", "status": "SUCCESS"},
        ],
    }


async def test_concurrent_calls_to_one_session_lose_no_update(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await asyncio.gather(
        *(
            record(
                client,
                project.ingest,
                id=f"p-{index}",
                sessionId="busy",
                promptTokens=index,
                completionTokens=1,
            )
            for index in range(20)
        )
    )

    result = await gql(client, SESSION, {"id": "busy"}, key=project.reader)

    assert result.data is not None
    assert result.data["session"]["callCount"] == 20
    assert result.data["session"]["promptTokens"] == sum(range(20))


async def test_sessions_list_most_recent_first_with_cursor_pages(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    for index in range(3):
        await record(
            client,
            project.ingest,
            id=f"s{index}",
            sessionId=f"conv-{index}",
            userId="u-1" if index != 1 else "u-2",
            timestamp=f"2026-11-0{index + 1}T00:00:00Z",
        )
    query = """
    query Page($after: String, $user: String) {
      sessions(filter: {userId: $user}, pagination: {first: 1, after: $after}) {
        totalCount items { id } pageInfo { hasNextPage endCursor }
      }
    }
    """

    first = await gql(client, query, {"user": "u-1"}, key=project.reader)
    assert first.data is not None
    page = first.data["sessions"]
    assert page["totalCount"] == 2
    assert page["items"] == [{"id": "conv-2"}]
    assert page["pageInfo"]["hasNextPage"] is True

    second = await gql(
        client,
        query,
        {"user": "u-1", "after": page["pageInfo"]["endCursor"]},
        key=project.reader,
    )
    assert second.data is not None
    assert second.data["sessions"]["items"] == [{"id": "conv-0"}]
    assert second.data["sessions"]["pageInfo"]["hasNextPage"] is False
