"""The sweep counts batches whose request failed and was never resent."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from app.documents import PendingTotals, Session, session_key
from app.metrics import REGISTRY
from app.services.totals_sweep import count_abandoned_batches
from tests.api.test_log_call import call
from tests.api.test_log_calls import LOG_CALLS, log_calls
from tests.factories import TestProject, gql, uncounted_call_ids
from tests.faults import fail_bulk_writes_to

LATER = timedelta(minutes=10)
AFTER = timedelta(minutes=5)


@pytest.fixture(autouse=True)
async def no_other_batches(app: Starlette) -> None:
    # The sweep covers every project; batches other tests left open (on
    # purpose) would be counted here too and blur what these tests count.
    await PendingTotals.get_pymongo_collection().delete_many({})


@pytest.fixture
def sessions_fail(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Session totals cannot be written: batches store their calls, then fail."""
    fail_bulk_writes_to(monkeypatch, "llm_sessions")
    yield monkeypatch
    monkeypatch.undo()


async def fail_a_batch(
    client: httpx.AsyncClient,
    project: TestProject,
    sessions_fail: pytest.MonkeyPatch,
    ids: list[str],
) -> None:
    inputs = [call(id=call_id, sessionId="s") for call_id in ids]
    failed = await gql(client, LOG_CALLS, {"inputs": inputs}, key=project.ingest)
    sessions_fail.undo()
    assert failed.error_codes() == ["UNAVAILABLE"]
    assert await uncounted_call_ids(project) == set(ids)


async def session_calls(project: TestProject) -> int:
    session = await Session.get(session_key(project.id, "s"))
    return 0 if session is None else session.call_count


async def test_a_failed_batch_nobody_resends_is_counted_once_it_is_old_enough(
    app: Starlette,
    client: httpx.AsyncClient,
    project: TestProject,
    sessions_fail: pytest.MonkeyPatch,
) -> None:
    await fail_a_batch(client, project, sessions_fail, ["a", "b"])
    broker = app.state.broker
    now = datetime.now(UTC)

    too_soon = await count_abandoned_batches(broker, now=now, older_than=AFTER)
    assert too_soon == 0
    assert await session_calls(project) == 0

    late_before = REGISTRY.get_sample_value("llmd_calls_counted_late_total") or 0.0
    counted = await count_abandoned_batches(broker, now=now + LATER, older_than=AFTER)

    assert counted == 2
    assert REGISTRY.get_sample_value("llmd_calls_counted_late_total") == late_before + 2
    assert await session_calls(project) == 2
    assert await uncounted_call_ids(project) == set()
    assert await PendingTotals.find({"project_id": project.id}).count() == 0
    # Nothing is left for a later round, nor for a resend of the same batch.
    again = await count_abandoned_batches(broker, now=now + LATER, older_than=AFTER)
    assert again == 0
    resent = await log_calls(client, [call(id="a", sessionId="s")], key=project.ingest)
    assert resent["duplicateCount"] == 1
    assert await session_calls(project) == 2


async def test_calls_a_resend_already_counted_are_not_counted_again(
    app: Starlette,
    client: httpx.AsyncClient,
    project: TestProject,
    sessions_fail: pytest.MonkeyPatch,
) -> None:
    await fail_a_batch(client, project, sessions_fail, ["a", "b"])
    # The client resends only one of the two calls.
    await log_calls(client, [call(id="a", sessionId="s")], key=project.ingest)
    assert await uncounted_call_ids(project) == {"b"}

    counted = await count_abandoned_batches(
        app.state.broker, now=datetime.now(UTC) + LATER, older_than=AFTER
    )

    assert counted == 1
    assert await session_calls(project) == 2


async def test_of_two_sweeps_at_once_only_one_counts_a_batch(
    app: Starlette,
    client: httpx.AsyncClient,
    project: TestProject,
    sessions_fail: pytest.MonkeyPatch,
) -> None:
    await fail_a_batch(client, project, sessions_fail, ["a", "b", "c"])
    later = datetime.now(UTC) + LATER

    counted = await asyncio.gather(
        *(
            count_abandoned_batches(app.state.broker, now=later, older_than=AFTER)
            for _ in range(2)
        )
    )

    assert sorted(counted) == [0, 3]
    assert await session_calls(project) == 3
