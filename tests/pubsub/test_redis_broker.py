"""The Redis broker against a real redis-server: one subscription per topic per
process, one message per batch, and a lost connection that is never silent."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from app.errors import Unavailable
from app.pubsub import CallLogged, RedisBroker, SubscriberOverflowed
from app.pubsub.codec import decode_events
from tests.live_helpers import PATIENCE_S, wait_until
from tests.pubsub.test_codec import stored_log
from tests.redis_server import redis_server, requires_redis, subscribers_of

pytestmark = requires_redis


def event(call_id: str) -> CallLogged:
    log = stored_log()
    log.id = f"p:{call_id}"
    log.call_id = call_id
    return CallLogged("p", log)


def call_ids(events: list[object]) -> list[str]:
    return [e.log.call_id for e in events if isinstance(e, CallLogged)]


async def take(events: AsyncIterator[object], count: int) -> list[object]:
    async with asyncio.timeout(PATIENCE_S):
        return [await anext(events) for _ in range(count)]


def broker(url: str, prefix: str) -> RedisBroker:
    return RedisBroker(url, queue_size=100, timeout_s=2.0, channel_prefix=prefix)


async def test_a_batch_published_by_one_process_reaches_subscribers_of_both(
    app: Starlette, redis_url: str
) -> None:
    ingest, other = broker(redis_url, "t1:"), broker(redis_url, "t1:")
    try:
        async with (
            ingest.subscribe("calls:p") as local,
            other.subscribe("calls:p") as remote,
        ):
            await ingest.publish_many("calls:p", [event("a"), event("b")])
            await ingest.publish("calls:p", event("c"))

            assert call_ids(await take(remote, 3)) == ["a", "b", "c"]
            assert call_ids(await take(local, 3)) == ["a", "b", "c"]
    finally:
        await ingest.close()
        await other.close()


async def test_each_process_holds_one_redis_subscription_per_topic(
    app: Starlette, redis_url: str
) -> None:
    process = broker(redis_url, "t2:")
    channel = process.channel("calls:p")
    try:
        async with process.subscribe("calls:p"), process.subscribe("calls:p"):
            async with process.subscribe("calls:p"), process.subscribe("sessions:p"):
                assert process.subscriber_count("calls:p") == 3
                assert await subscribers_of(redis_url, channel) == 1
            assert await subscribers_of(redis_url, channel) == 1
        await wait_until(
            lambda: _no_subscribers(redis_url, channel),
            "the last local subscriber's leave unsubscribes from Redis",
        )
    finally:
        await process.close()


async def _no_subscribers(url: str, channel: str) -> bool:
    return await subscribers_of(url, channel) == 0


async def test_a_batch_is_one_redis_message(app: Starlette, redis_url: str) -> None:
    publisher = broker(redis_url, "t3:")
    raw = Redis.from_url(redis_url)
    listener = raw.pubsub()
    try:
        await listener.subscribe(publisher.channel("calls:p"))
        await publisher.publish_many("calls:p", [event("a"), event("b"), event("c")])
        await publisher.publish_many("calls:p", [])
        await publisher.publish("calls:p", event("d"))

        messages: list[bytes] = []
        async with asyncio.timeout(PATIENCE_S):
            while len(messages) < 2:
                message = await listener.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
                if message is not None:
                    messages.append(message["data"])
        assert [len(decode_events(data)) for data in messages] == [3, 1]
    finally:
        await listener.aclose()
        await raw.aclose()
        await publisher.close()


async def test_losing_redis_tells_subscribers_and_never_fails_a_publisher(
    app: Starlette, tmp_path: Path
) -> None:
    async with redis_server(tmp_path) as url:
        process = broker(url, "t4:")
        async with process.subscribe("calls:p") as events:
            waiting = asyncio.ensure_future(anext(events))
            stopping = asyncio.create_task(_stop(url))
            with pytest.raises(SubscriberOverflowed):
                async with asyncio.timeout(PATIENCE_S):
                    await waiting
            await stopping

    # The server is gone: publishing logs and returns, subscribing says retry.
    await process.publish("calls:p", event("lost"))
    with pytest.raises(Unavailable, match="subscribe again"):
        async with process.subscribe("calls:p"):
            pass
    await process.close()


async def _stop(url: str) -> None:
    client = Redis.from_url(url)
    try:
        await client.shutdown(nosave=True)
    except Exception:
        pass
    finally:
        await client.aclose()
