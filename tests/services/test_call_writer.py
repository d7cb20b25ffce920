"""Single calls sent at the same time are stored as groups, each answered on its own."""

import asyncio
from typing import Any

import httpx
import pytest

from app.documents import Session, session_key
from app.metrics import REGISTRY
from app.services import call_batch, pending_totals
from tests.factories import TestProject, gql, uncounted_call_ids
from tests.faults import fail_bulk_writes_to

LOG_CALL = """
mutation Record($input: LogCallInput!) { logCall(input: $input) { id costUsd } }
"""


def one_call(call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "promptTokens": 100,
        "completionTokens": 10,
        "sessionId": "s",
    }


@pytest.fixture
def batches_opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the store is asked to open."""
    sizes: list[int] = []
    original = pending_totals.open_batch

    async def counting(project_id: str, batch_id: str, call_keys: list[str]) -> None:
        sizes.append(len(call_keys))
        await original(project_id, batch_id, call_keys)

    monkeypatch.setattr(call_batch, "open_batch", counting)
    return sizes


async def test_concurrent_single_calls_share_batches_and_each_gets_its_answer(
    client: httpx.AsyncClient, project: TestProject, batches_opened: list[int]
) -> None:
    ids = [f"c{n}" for n in range(30)]
    groups_before = REGISTRY.get_sample_value("llmd_single_call_group_size_sum") or 0.0

    answers = await asyncio.gather(
        *(
            gql(client, LOG_CALL, {"input": one_call(i)}, key=project.ingest)
            for i in ids
        )
    )

    assert [answer.data["logCall"]["id"] for answer in answers if answer.data] == ids
    assert all(
        answer.data["logCall"]["costUsd"] > 0 for answer in answers if answer.data
    )
    # Fewer store batches than requests, and every call in exactly one of them.
    assert sum(batches_opened) == 30
    assert len(batches_opened) < 30
    groups = REGISTRY.get_sample_value("llmd_single_call_group_size_sum")
    assert groups == groups_before + 30
    session = await Session.get(session_key(project.id, "s"))
    assert session is not None
    assert session.call_count == 30
    assert await uncounted_call_ids(project) == set()


async def test_the_same_id_sent_twice_at_once_is_stored_once(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    first, second = await asyncio.gather(
        *(
            client.post(
                "/api/logs",
                json={"id": "twice", "provider": "openai", "model": "gpt-4o-mini"},
                headers={"Authorization": f"Bearer {project.ingest}"},
            )
            for _ in range(2)
        )
    )

    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"] == "twice"
    duplicate = first if first.status_code == 200 else second
    assert duplicate.json()["duplicate"] is True


async def test_a_store_failure_fails_every_call_of_the_group(
    client: httpx.AsyncClient,
    project: TestProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fail_bulk_writes_to(monkeypatch, "llm_sessions")

    answers = await asyncio.gather(
        *(
            gql(client, LOG_CALL, {"input": one_call(f"f{n}")}, key=project.ingest)
            for n in range(5)
        )
    )
    monkeypatch.undo()

    assert [answer.error_codes() for answer in answers] == [["UNAVAILABLE"]] * 5
    # Nothing was acknowledged; resending counts every call once.
    resent = await asyncio.gather(
        *(
            gql(client, LOG_CALL, {"input": one_call(f"f{n}")}, key=project.ingest)
            for n in range(5)
        )
    )
    assert all(answer.errors == [] for answer in resent)
    session = await Session.get(session_key(project.id, "s"))
    assert session is not None
    assert session.call_count == 5
