"""Per-project usage windows: one broker subscription and one seed query per
project and process, shared by every live-usage subscriber."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from app.documents import Log, log_key
from app.pubsub import CallLogged, InMemoryBroker, calls_topic
from app.services.live import LiveCallFilter
from app.services.usage_window import UsageWindows


async def stored_call(
    project_id: str, call_id: str, *, minutes_ago: float = 0.5, **fields: object
) -> Log:
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    log = Log(
        _id=log_key(project_id, call_id),
        call_id=call_id,
        project_id=project_id,
        timestamp=started,
        received_at=started,
        provider="openai",
        model="gpt-4o-mini",
        prompt_tokens=10,
        completion_tokens=5,
        total_tokens=15,
        duration_ms=100.0,
        cost_usd=0.01,
        **fields,
    )
    await log.insert()
    return log


def new_project() -> str:
    return f"window-{uuid.uuid4().hex[:8]}"


class LateEventBroker(InMemoryBroker):
    """Publishes `early` right after a subscription opens: an event that arrives
    while the window's seed query is still running."""

    def __init__(self, early: Sequence[CallLogged]) -> None:
        super().__init__(queue_size=100)
        self.early = list(early)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[object]]:
        async with super().subscribe(topic) as events:
            await self.publish_many(topic, self.early)
            yield events


@pytest.mark.usefixtures("app")
async def test_a_call_seen_by_the_seed_and_the_feed_counts_once() -> None:
    project_id = new_project()
    stored = await stored_call(project_id, "both")
    fresh = await stored_call(project_id, "feed-only")
    await fresh.delete()  # stored after the seed query ran: only the feed has it
    broker = LateEventBroker(
        [CallLogged(project_id, stored), CallLogged(project_id, fresh)]
    )
    windows = UsageWindows(broker, max_calls=1000)

    async with windows.tally(project_id, LiveCallFilter(), window_s=300) as tally:
        snapshot = tally.snapshot(time.time())

    assert snapshot.calls == 2
    assert snapshot.complete is True


@pytest.mark.usefixtures("app")
async def test_subscribers_of_a_project_share_one_window_and_one_subscription() -> None:
    project_id = new_project()
    await stored_call(project_id, "seeded")
    broker = InMemoryBroker(queue_size=100)
    windows = UsageWindows(broker, max_calls=1000)
    topic = calls_topic(project_id)

    async with (
        windows.tally(project_id, LiveCallFilter(), window_s=60) as everything,
        windows.tally(
            project_id, LiveCallFilter(statuses=("error",)), window_s=60
        ) as errors,
    ):
        shared = windows.window(project_id)
        assert shared is not None
        assert broker.subscriber_count(topic) == 1

        failed = await stored_call(project_id, "failed", minutes_ago=0, status="error")
        await broker.publish(topic, CallLogged(project_id, failed))
        await asyncio.sleep(0)  # let the window's reader take the event

        assert everything.snapshot(time.time()).calls == 2
        assert errors.snapshot(time.time()).calls == 1

    assert windows.window(project_id) is None
    assert broker.subscriber_count(topic) == 0


@pytest.mark.usefixtures("app")
async def test_a_longer_window_reads_only_the_older_calls_it_lacks() -> None:
    project_id = new_project()
    await stored_call(project_id, "recent", minutes_ago=0.5)
    await stored_call(project_id, "older", minutes_ago=3)
    await stored_call(project_id, "ancient", minutes_ago=20)
    windows = UsageWindows(InMemoryBroker(queue_size=100), max_calls=1000)

    async with (
        windows.tally(project_id, LiveCallFilter(), window_s=60) as short,
        windows.tally(project_id, LiveCallFilter(), window_s=300) as long,
    ):
        assert short.snapshot(time.time()).calls == 1
        assert long.snapshot(time.time()).calls == 2
        window = windows.window(project_id)
        assert window is not None
        assert sorted(entry.call_id for entry in window.entries) == [
            "older",
            "recent",
        ]


@pytest.mark.usefixtures("app")
async def test_a_window_over_its_memory_cap_says_its_totals_are_incomplete() -> None:
    project_id = new_project()
    for index in range(5):
        await stored_call(project_id, f"c{index}", minutes_ago=1 + index)
    windows = UsageWindows(InMemoryBroker(queue_size=100), max_calls=3)

    async with windows.tally(project_id, LiveCallFilter(), window_s=600) as tally:
        snapshot = tally.snapshot(time.time())

    assert snapshot.calls == 3
    assert snapshot.complete is False


@pytest.mark.usefixtures("app")
async def test_a_window_whose_feed_falls_behind_breaks_its_tallies() -> None:
    project_id = new_project()
    broker = InMemoryBroker(queue_size=2)
    windows = UsageWindows(broker, max_calls=1000)
    log = await stored_call(project_id, "x")

    async with windows.tally(project_id, LiveCallFilter(), window_s=60) as tally:
        await broker.publish_many(
            calls_topic(project_id), [CallLogged(project_id, log)] * 3
        )
        async with asyncio.timeout(5):
            await tally.broken.wait()
        broken = windows.window(project_id)
        assert broken is not None
        assert broken.failed

        # The next subscriber gets a fresh window, seeded again.
        async with windows.tally(project_id, LiveCallFilter(), window_s=60) as fresh:
            assert windows.window(project_id) is not broken
            assert fresh.snapshot(time.time()).calls == 1

    assert broker.dropped_subscribers == 1
