"""The in-process broker: fan-out, bounded backlogs, counted drops."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.pubsub import InMemoryBroker, SubscriberOverflowed


async def take(events: AsyncIterator[object], count: int) -> list[object]:
    return [await anext(events) for _ in range(count)]


async def test_every_subscriber_of_a_topic_gets_each_event_in_order() -> None:
    broker = InMemoryBroker(queue_size=10)
    async with (
        broker.subscribe("t") as first,
        broker.subscribe("t") as second,
        broker.subscribe("other") as elsewhere,
    ):
        await broker.publish("t", "a")
        await broker.publish_many("t", ["b", "c"])
        await broker.publish("other", "x")

        assert await take(first, 3) == ["a", "b", "c"]
        assert await take(second, 3) == ["a", "b", "c"]
        assert await take(elsewhere, 1) == ["x"]


async def test_a_subscriber_past_its_backlog_is_dropped_counted_and_told() -> None:
    broker = InMemoryBroker(queue_size=3)
    async with broker.subscribe("t") as slow, broker.subscribe("t") as fast:
        await broker.publish_many("t", ["a", "b"])
        assert await take(fast, 2) == ["a", "b"]
        # `slow` has read nothing: two queued plus two more exceeds three.
        await broker.publish_many("t", ["c", "d"])
        await broker.publish("t", "e")

        assert await take(fast, 3) == ["c", "d", "e"]
        with pytest.raises(SubscriberOverflowed):
            await anext(slow)
        assert broker.dropped_subscribers == 1


async def test_a_batch_counts_each_event_against_the_backlog() -> None:
    broker = InMemoryBroker(queue_size=3)
    async with broker.subscribe("t") as events:
        await broker.publish_many("t", ["a", "b", "c", "d"])
        with pytest.raises(SubscriberOverflowed):
            await anext(events)
    assert broker.dropped_subscribers == 1


async def test_publishing_never_waits_for_a_reader() -> None:
    broker = InMemoryBroker(queue_size=1000)
    async with broker.subscribe("t"):
        # Nobody reads; each publish still returns without yielding to the loop.
        for index in range(1000):
            coroutine = broker.publish("t", index)
            with pytest.raises(StopIteration):
                coroutine.send(None)
    assert broker.subscriber_count("t") == 0


async def test_closing_the_broker_ends_every_subscription_with_resubscribe() -> None:
    broker = InMemoryBroker(queue_size=10)
    async with broker.subscribe("t") as events:
        waiting: asyncio.Future[object] = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0)
        await broker.close()
        with pytest.raises(SubscriberOverflowed):
            await waiting
