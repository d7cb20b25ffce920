"""A broker over Redis pub/sub, for several processes serving one feed.

Each process holds one Redis connection for subscribing, and on it one Redis
subscription per topic that has a local subscriber; a reader task hands every
message to the process's `FanOut`, which feeds the local subscribers in
memory. A published batch is one Redis message.

Redis pub/sub delivers at most once: a message published while a process's
connection is down is gone. So the reader gives up at the first connection
error (no silent reconnect that would hide a gap) and tells every local
subscriber to resubscribe; the next subscription opens a new connection.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.errors import Unavailable
from app.pubsub.broker import FanOut, SubscriberQueue
from app.pubsub.codec import UndecodableMessage, decode_events, encode_events

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = "llmd:"


class _Link:
    """One subscribing connection, its reader, and the channels joined on it."""

    def __init__(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub
        self.joined: set[str] = set()
        self.confirmations: dict[str, asyncio.Future[None]] = {}
        self.reader: asyncio.Task[None] | None = None

    def confirm(self, channel: str) -> None:
        self.joined.add(channel)
        waiter = self.confirmations.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: BaseException) -> None:
        for waiter in self.confirmations.values():
            if not waiter.done():
                waiter.set_exception(error)
        self.confirmations.clear()

    async def close(self) -> None:
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
            with suppress(asyncio.CancelledError):
                await self.reader
        with suppress(RedisError, OSError):
            await self.pubsub.aclose()


class RedisBroker:
    """Publish through Redis; fan out to this process's subscribers in memory."""

    def __init__(
        self,
        url: str,
        *,
        queue_size: int,
        timeout_s: float,
        channel_prefix: str = CHANNEL_PREFIX,
    ) -> None:
        # No retries: a lost subscribing connection must surface, not be
        # re-established silently after messages were missed.
        self._redis: Redis = Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=timeout_s,
        )
        self._fanout = FanOut(queue_size)
        self._timeout_s = timeout_s
        self._prefix = channel_prefix
        self._link: _Link | None = None
        self._lock = asyncio.Lock()

    @property
    def dropped_subscribers(self) -> int:
        return self._fanout.dropped_subscribers

    def subscriber_count(self, topic: str) -> int:
        return self._fanout.subscriber_count(topic)

    def channel(self, topic: str) -> str:
        """The Redis channel that carries `topic`."""
        return self._prefix + topic

    async def publish(self, topic: str, event: object) -> None:
        await self.publish_many(topic, (event,))

    async def publish_many(self, topic: str, events: Sequence[object]) -> None:
        """One Redis message for the batch; a Redis outage never fails the caller.

        The events describe writes that are already stored and acknowledged, so
        a failed publish is logged and the live feed misses them; queries still
        return them.
        """
        if not events:
            return
        payload = encode_events(events)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._redis.publish(self.channel(topic), payload)
        except (RedisError, OSError, TimeoutError) as error:
            log.warning(
                "event.publish_failed",
                topic=topic,
                events=len(events),
                error=type(error).__name__,
            )

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[object]]:
        subscription = self._fanout.add(topic)
        try:
            await self._join(topic)
        except BaseException:
            await self._leave(topic, subscription)
            raise
        try:
            yield subscription.events()
        finally:
            await self._leave(topic, subscription)

    async def close(self) -> None:
        async with self._lock:
            link, self._link = self._link, None
        if link is not None:
            await link.close()
        self._fanout.fail_all()
        await self._redis.aclose()

    async def _join(self, topic: str) -> None:
        channel = self.channel(topic)
        try:
            async with self._lock, asyncio.timeout(self._timeout_s):
                link = await self._current_link()
                if channel in link.joined:
                    return
                waiter = link.confirmations.get(channel)
                if waiter is None:
                    waiter = asyncio.get_running_loop().create_future()
                    link.confirmations[channel] = waiter
                    await link.pubsub.subscribe(channel)
                    if link.reader is None:
                        # Only now: reading before the first SUBSCRIBE fails.
                        link.reader = asyncio.create_task(
                            self._read(link), name="redis-broker-reader"
                        )
                # Wait for Redis to confirm: events published after this
                # returns reach the subscriber.
                await asyncio.shield(waiter)
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("broker.unavailable", error=type(error).__name__)
            message = "the live feed's message broker did not answer; subscribe again"
            raise Unavailable(message) from error

    async def _leave(self, topic: str, subscription: SubscriberQueue) -> None:
        if not self._fanout.remove(topic, subscription):
            return
        channel = self.channel(topic)
        async with self._lock:
            link = self._link
            if link is None or channel not in link.joined:
                return
            link.joined.discard(channel)
            with suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(self._timeout_s):
                    await link.pubsub.unsubscribe(channel)

    async def _current_link(self) -> _Link:
        if self._link is None:
            self._link = _Link(self._redis.pubsub())
        return self._link

    async def _read(self, link: _Link) -> None:
        try:
            while True:
                message = await link.pubsub.get_message(timeout=None)
                if message is not None:
                    self._handle(link, message)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The broker loop is one of the two places a broad except belongs:
            # whatever broke the feed, every local subscriber must hear of it.
            if isinstance(error, (RedisError, OSError)):
                log.warning("broker.connection_lost", error=type(error).__name__)
            else:
                log.error("broker.reader_failed", exc_info=error)
            if self._link is link:
                self._link = None
            link.fail(error)
            self._fanout.fail_all()
            with suppress(RedisError, OSError):
                await link.pubsub.aclose()

    def _handle(self, link: _Link, message: dict[str, object]) -> None:
        channel = _text(message.get("channel"))
        kind = message.get("type")
        if kind == "subscribe":
            link.confirm(channel)
            return
        if kind != "message" or not channel.startswith(self._prefix):
            return
        data = message.get("data")
        if not isinstance(data, (bytes, str)):
            return
        try:
            events = decode_events(data)
        except UndecodableMessage as error:
            log.warning("event.undecodable", channel=channel, error=str(error))
            return
        self._fanout.deliver(channel.removeprefix(self._prefix), events)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
