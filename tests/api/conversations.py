"""GraphQL documents and helpers for the session, message and user tests."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.documents import Log, Project
from app.pubsub import Broker, SessionUpdated, sessions_topic
from app.services.call_input import CallIn
from app.services.call_validation import CallLimits, validate_call
from app.services.calls import apply_totals
from app.services.pending_totals import new_batch_id, open_batch
from tests.api.test_log_call import LOG_CALL, call
from tests.factories import TestProject, gql

SESSION_FIELDS = """
  id userId status startedAt lastActivityAt endedAt
  callCount errorCount promptTokens completionTokens totalTokens cachedPromptTokens
  reasoningTokens costUsd durationMs wallDurationMs errorRate
  messageCount messagePromptTokens messageCompletionTokens messageCostUsd
  messageDurationMs models providers metadata
"""

SESSION = f"query Session($id: ID!) {{ session(id: $id) {{ {SESSION_FIELDS} }} }}"

START = f"""
mutation Start($input: StartSessionInput!) {{ startSession(input: $input) {{ {SESSION_FIELDS} }} }}
"""

ADD_MESSAGE = """
mutation Add($input: AddSessionMessageInput!) {
  addSessionMessage(input: $input) {
    created
    message { id seq role content contentTruncated promptTokens completionTokens costUsd durationMs }
    session { id status messageCount messageCostUsd costUsd lastActivityAt }
  }
}
"""

COMPLETE = "mutation Complete($id: ID!) { completeSession(id: $id) { id status endedAt callCount } }"

DELETE = "mutation Delete($id: ID!) { deleteSession(id: $id) { id messagesDeleted callsUnlinked } }"


def ago(minutes: float) -> str:
    """An ISO time `minutes` before now (in the past, so nothing waits)."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


async def record(client: httpx.AsyncClient, key: str, **fields: Any) -> dict[str, Any]:
    result = await gql(client, LOG_CALL, {"input": call(**fields)}, key=key)
    assert result.errors == [], result.errors
    assert result.data is not None
    stored: dict[str, Any] = result.data["logCall"]
    return stored


async def add_message(
    client: httpx.AsyncClient, key: str, **fields: Any
) -> dict[str, Any]:
    result = await gql(client, ADD_MESSAGE, {"input": fields}, key=key)
    assert result.errors == [], result.errors
    assert result.data is not None
    added: dict[str, Any] = result.data["addSessionMessage"]
    return added


async def read_session(
    client: httpx.AsyncClient, key: str, session_id: str
) -> dict[str, Any] | None:
    result = await gql(client, SESSION, {"id": session_id}, key=key)
    assert result.errors == [], result.errors
    assert result.data is not None
    session: dict[str, Any] | None = result.data["session"]
    return session


async def set_project_settings(project: TestProject, **settings: Any) -> None:
    await Project.get_pymongo_collection().update_one(
        {"_id": project.id},
        {"$set": {f"settings.{name}": value for name, value in settings.items()}},
    )


@asynccontextmanager
async def session_events(
    broker: Broker, project: TestProject
) -> AsyncIterator["EventReader"]:
    """Collect the project's session events while the block runs."""
    async with broker.subscribe(sessions_topic(project.id)) as events:
        yield EventReader(events)


class EventReader:
    def __init__(self, events: AsyncIterator[object]) -> None:
        self._events = events

    async def take(self, count: int) -> list[SessionUpdated]:
        """The next `count` events (they are queued, so this returns at once)."""
        taken: list[SessionUpdated] = []
        async with asyncio.timeout(5):
            while len(taken) < count:
                event = await anext(self._events)
                assert isinstance(event, SessionUpdated)
                taken.append(event)
        return taken


async def seed_calls(
    broker: Broker, project: TestProject, specs: list[dict[str, Any]]
) -> None:
    """Store many calls in one batch through the same validation and totals hook.

    Faster than one GraphQL request per call for tests that need a population;
    `specs` are `LogCallInput`-like dicts in snake_case.
    """
    now = datetime.now(UTC)
    documents = [
        validate_call(
            CallIn(**{"provider": "openai", "model": "gpt-4o-mini", **spec}),
            project_id=project.id,
            limits=SEED_LIMITS,
            now=now,
        )
        for spec in specs
    ]
    batch_id = new_batch_id()
    for document in documents:
        document.totals_batch = batch_id
    await open_batch(project.id, batch_id, [document.id for document in documents])
    await Log.get_pymongo_collection().insert_many(
        [document.model_dump(by_alias=True) for document in documents]
    )
    await apply_totals(documents, batch_id=batch_id, broker=broker)


SEED_LIMITS = CallLimits(
    max_string_chars=256,
    max_text_chars=1000,
    max_tags=8,
    max_metadata_keys=8,
    max_future_skew=timedelta(minutes=5),
    store_text=True,
)
