"""Fan events out to subscribers without letting a slow one slow anyone else.

Every broker delivers through a `FanOut`: the subscribers of this process,
each with a bounded backlog. Publishing never waits for a subscriber; one that
falls more than `queue_size` events behind is dropped and told so, and the
broker counts it.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import structlog

from app import metrics

log = structlog.get_logger(__name__)


class SubscriberOverflowed(Exception):
    """The subscriber fell too far behind (or lost its feed); it must resubscribe."""


class Broker(Protocol):
    """Publish to a topic; subscribe to a topic as an async iterator of events."""

    @property
    def dropped_subscribers(self) -> int:
        """How many subscribers were dropped for falling behind, since start."""
        ...

    async def publish(self, topic: str, event: object) -> None: ...

    async def publish_many(self, topic: str, events: Sequence[object]) -> None:
        """Publish a batch as one message: ingest calls this once per batch."""
        ...

    def subscribe(
        self, topic: str
    ) -> AbstractAsyncContextManager[AsyncIterator[object]]: ...

    def subscriber_count(self, topic: str) -> int:
        """Subscribers of `topic` in this process."""
        ...

    async def close(self) -> None: ...


class SubscriberQueue:
    """One subscriber's backlog: batches of events, at most `limit` events."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        self.overflowed = False
        self._batches: asyncio.Queue[tuple[object, ...]] = asyncio.Queue()

    def offer(self, events: tuple[object, ...]) -> bool:
        """Queue `events`; return True when this offer overflowed the backlog."""
        if self.overflowed:
            return False
        if self.pending + len(events) > self.limit:
            self.fail()
            return True
        self.pending += len(events)
        self._batches.put_nowait(events)
        return False

    def fail(self) -> None:
        """Drop the backlog now (freeing its memory) and wake the reader."""
        self.overflowed = True
        self.pending = 0
        while not self._batches.empty():
            self._batches.get_nowait()
        self._batches.put_nowait(())

    async def events(self) -> AsyncIterator[object]:
        while True:
            batch = await self._batches.get()
            if self.overflowed:
                raise SubscriberOverflowed
            self.pending -= len(batch)
            for event in batch:
                yield event


class FanOut:
    """The subscribers of each topic in this process, fed in memory."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._topics: dict[str, set[SubscriberQueue]] = {}
        self.dropped_subscribers = 0

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def add(self, topic: str) -> SubscriberQueue:
        subscription = SubscriberQueue(self._queue_size)
        self._topics.setdefault(topic, set()).add(subscription)
        metrics.subscription_opened()
        return subscription

    def remove(self, topic: str, subscription: SubscriberQueue) -> bool:
        """Forget `subscription`; return True when `topic` has no subscriber left."""
        subscribers = self._topics.get(topic)
        if subscribers is None or subscription not in subscribers:
            return subscribers is None
        metrics.subscription_closed()
        subscribers.discard(subscription)
        if subscribers:
            return False
        del self._topics[topic]
        return True

    def deliver(self, topic: str, events: Sequence[object]) -> None:
        """Hand `events` to every subscriber of `topic`; never waits."""
        batch = tuple(events)
        if not batch:
            return
        for subscription in tuple(self._topics.get(topic, ())):
            if subscription.offer(batch):
                self.dropped_subscribers += 1
                metrics.subscriber_dropped()
                log.warning("subscriber.dropped", topic=topic, reason="fell_behind")

    def fail_all(self) -> None:
        """Tell every subscriber its feed broke: each must resubscribe."""
        for subscribers in self._topics.values():
            for subscription in subscribers:
                subscription.fail()


class InMemoryBroker:
    """The default broker: one process, fan-out in memory, bounded queues."""

    def __init__(self, queue_size: int) -> None:
        self._fanout = FanOut(queue_size)

    @property
    def dropped_subscribers(self) -> int:
        return self._fanout.dropped_subscribers

    def subscriber_count(self, topic: str) -> int:
        return self._fanout.subscriber_count(topic)

    async def publish(self, topic: str, event: object) -> None:
        self._fanout.deliver(topic, (event,))

    async def publish_many(self, topic: str, events: Sequence[object]) -> None:
        self._fanout.deliver(topic, events)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[object]]:
        subscription = self._fanout.add(topic)
        try:
            yield subscription.events()
        finally:
            self._fanout.remove(topic, subscription)

    async def close(self) -> None:
        self._fanout.fail_all()
