"""Fan events out to subscribers without letting a slow one slow anyone else."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import structlog

from app import metrics

log = structlog.get_logger(__name__)


class SubscriberOverflowed(Exception):
    """The subscriber fell too far behind and was dropped; it must resubscribe."""


class Broker(Protocol):
    """Publish to a topic; subscribe to a topic as an async iterator."""

    async def publish(self, topic: str, event: object) -> None: ...

    def subscribe(
        self, topic: str
    ) -> AbstractAsyncContextManager[AsyncIterator[object]]: ...


class _Subscription:
    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)
        self.overflowed = False

    def offer(self, event: object) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            # Wake the reader so it learns of the overflow now, not at the next event.
            self.queue.get_nowait()
            self.queue.put_nowait(_OVERFLOW)

    async def events(self) -> AsyncIterator[object]:
        while True:
            event = await self.queue.get()
            if event is _OVERFLOW:
                raise SubscriberOverflowed
            yield event


_OVERFLOW = object()


class InMemoryBroker:
    """The default broker: one process, fan-out in memory, bounded queues."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._topics: defaultdict[str, set[_Subscription]] = defaultdict(set)
        self.dropped_subscribers = 0

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    async def publish(self, topic: str, event: object) -> None:
        for subscription in tuple(self._topics.get(topic, ())):
            was_overflowed = subscription.overflowed
            subscription.offer(event)
            if subscription.overflowed and not was_overflowed:
                self.dropped_subscribers += 1
                metrics.subscriber_dropped()
                log.warning("subscriber.dropped", topic=topic)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[object]]:
        subscription = _Subscription(self._queue_size)
        self._topics[topic].add(subscription)
        metrics.subscription_opened()
        try:
            yield subscription.events()
        finally:
            metrics.subscription_closed()
            subscribers = self._topics.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._topics[topic]
