"""Messages: exact order, stable pages, idempotent retries, totals kept apart."""

import asyncio

import httpx
import pytest

from tests.api.conversations import (
    add_message,
    read_session,
    record,
    set_project_settings,
)
from tests.factories import TestProject, gql

MESSAGES = """
query Messages($id: ID!, $after: String) {
  session(id: $id) {
    messages(pagination: {first: 3, after: $after}) {
      totalCount items { id seq role content } pageInfo { hasNextPage endCursor }
    }
    firstUserMessage { seq content }
    lastAssistantMessage { seq content }
  }
}
"""

TURNS = [
    ("SYSTEM", "be brief"),
    ("USER", "what is 2+2?"),
    ("ASSISTANT", "4"),
    ("USER", "and 3+3?"),
    ("TOOL", "calculator: 6"),
    ("ASSISTANT", "6"),
    ("USER", "thanks"),
]


async def test_messages_come_back_in_order_page_by_page_with_previews(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    for role, content in TURNS:
        await add_message(
            client, project.ingest, sessionId="chat", role=role, content=content
        )

    seen: list[tuple[int, str, str]] = []
    after = None
    pages = 0
    while True:
        result = await gql(
            client, MESSAGES, {"id": "chat", "after": after}, key=project.reader
        )
        assert result.errors == []
        assert result.data is not None
        session = result.data["session"]
        page = session["messages"]
        assert page["totalCount"] == 7
        seen += [(row["seq"], row["role"], row["content"]) for row in page["items"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert pages == 3
    assert seen == [
        (index + 1, role, content) for index, (role, content) in enumerate(TURNS)
    ]
    assert session["firstUserMessage"] == {"seq": 2, "content": "what is 2+2?"}
    assert session["lastAssistantMessage"] == {"seq": 6, "content": "6"}


async def test_a_retried_message_id_is_stored_and_counted_once(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    fields = {
        "sessionId": "retry",
        "id": "m-1",
        "role": "ASSISTANT",
        "content": "hello",
        "promptTokens": 10,
        "completionTokens": 5,
        "costUsd": 0.25,
        "durationMs": 300.0,
    }

    first = await add_message(client, project.ingest, **fields)
    second = await add_message(client, project.ingest, **fields)

    assert first["created"] is True
    assert second["created"] is False
    assert second["message"] == first["message"]
    assert first["message"]["id"] == "m-1"
    session = await read_session(client, project.reader, "retry")
    assert session is not None
    assert session["messageCount"] == 1
    assert session["messageCostUsd"] == 0.25
    assert session["messagePromptTokens"] == 10
    assert session["messageDurationMs"] == 300.0


async def test_message_totals_stay_apart_from_call_totals(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project.ingest, id="c", sessionId="both", costUsd=1.0)
    await add_message(
        client, project.ingest, sessionId="both", role="ASSISTANT", costUsd=1.0
    )

    session = await read_session(client, project.reader, "both")

    assert session is not None
    assert (session["costUsd"], session["messageCostUsd"]) == (1.0, 1.0)
    assert (session["callCount"], session["messageCount"]) == (1, 1)


async def test_concurrent_calls_and_messages_to_one_session_lose_nothing(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    calls = [
        record(
            client,
            project.ingest,
            id=f"call-{index}",
            sessionId="busy",
            promptTokens=index,
            completionTokens=1,
            costUsd=0.01,
        )
        for index in range(15)
    ]
    messages = [
        add_message(
            client,
            project.ingest,
            sessionId="busy",
            role="USER",
            content=f"m{index}",
            promptTokens=index,
            costUsd=0.5,
        )
        for index in range(15)
    ]

    await asyncio.gather(*calls, *messages)

    session = await read_session(client, project.reader, "busy")
    assert session is not None
    assert session["callCount"] == 15
    assert session["promptTokens"] == sum(range(15))
    assert session["costUsd"] == pytest.approx(0.15)
    assert session["messageCount"] == 15
    assert session["messagePromptTokens"] == sum(range(15))
    assert session["messageCostUsd"] == 7.5
    listed = await gql(
        client,
        '{ session(id: "busy") { messages(pagination: {first: 100}) { items { seq content } } } }',
        key=project.reader,
    )
    assert listed.data is not None
    items = listed.data["session"]["messages"]["items"]
    assert [item["seq"] for item in items] == list(range(1, 16))
    assert sorted(item["content"] for item in items) == sorted(
        f"m{i}" for i in range(15)
    )


async def test_message_text_follows_the_projects_text_settings(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await set_project_settings(project, max_text_chars=5)
    capped = await add_message(
        client, project.ingest, sessionId="t", role="USER", content="abcdefgh"
    )
    await set_project_settings(project, store_text=False)
    dropped = await add_message(
        client, project.ingest, sessionId="t", role="USER", content="secret"
    )

    assert (capped["message"]["content"], capped["message"]["contentTruncated"]) == (
        "abcde",
        True,
    )
    assert dropped["message"]["content"] is None


INVALID = """
mutation Add($input: AddSessionMessageInput!) { addSessionMessage(input: $input) { created } }
"""


async def test_bad_messages_are_refused_with_the_field_and_store_nothing(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    cases = [
        ({"sessionId": "x", "role": "USER", "id": "a:b"}, "id", "may not contain"),
        ({"sessionId": "x", "role": "USER", "id": "#3"}, "id", "start with"),
        (
            {"sessionId": "x", "role": "USER", "promptTokens": -1},
            "promptTokens",
            "zero",
        ),
        ({"sessionId": "x", "role": "USER", "costUsd": -0.1}, "costUsd", "zero"),
        ({"sessionId": "  ", "role": "USER"}, "sessionId", "required"),
        (
            {"sessionId": "x", "role": "USER", "timestamp": "2026-01-01T00:00:00"},
            "timestamp",
            "time zone",
        ),
    ]
    for fields, field, words in cases:
        result = await gql(client, INVALID, {"input": fields}, key=project.ingest)
        assert result.error_codes() == ["INVALID_INPUT"], fields
        assert result.errors[0]["extensions"]["field"] == field
        assert words in result.errors[0]["message"]

    wrong_role = await gql(
        client,
        INVALID,
        {"input": {"sessionId": "x", "role": "ROBOT"}},
        key=project.ingest,
    )
    assert wrong_role.error_codes() == ["GRAPHQL_VALIDATION_FAILED"]
    assert await read_session(client, project.reader, "x") is None
