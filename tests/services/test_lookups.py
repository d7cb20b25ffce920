"""Primary-key lookups that stay within what both stores answer."""

import pytest

from app.documents import Log
from app.pubsub import InMemoryBroker
from app.services import lookups
from app.services.call_batch import record_calls
from app.services.call_input import CallIn
from app.services.lookups import find_by_ids
from app.settings import Settings
from tests.factories import TestProject


async def test_a_thousand_ids_are_looked_up_without_a_too_deep_expression(
    project: TestProject,
) -> None:
    ids = [f"{project.id}:missing-{index}" for index in range(1000)]

    assert await find_by_ids(Log, ids) == []


async def test_slices_together_find_every_match_of_the_filter(
    project: TestProject, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = [
        CallIn(id=f"k{index}", provider="p", model="m", status=status)
        for index, status in enumerate(["success", "error"] * 3)
    ]
    await record_calls(project.id, calls, settings=settings, broker=InMemoryBroker(1))
    monkeypatch.setattr(lookups, "SLICE", 2)

    found = await find_by_ids(
        Log,
        [f"{project.id}:k{index}" for index in range(7)],
        where={"status": "error"},
    )

    assert sorted(log.call_id for log in found) == ["k1", "k3", "k5"]
