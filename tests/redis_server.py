"""A real, throw-away `redis-server` for tests of the Redis broker."""

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.live_helpers import free_port, wait_until

REDIS_SERVER = shutil.which("redis-server")
SKIP_REASON = (
    "redis-server is not installed here (apt-get install redis-server); "
    ".ci/run installs it, so these tests run in CI"
)
requires_redis = pytest.mark.skipif(REDIS_SERVER is None, reason=SKIP_REASON)


@asynccontextmanager
async def redis_server(workdir: Path) -> AsyncIterator[str]:
    """Start redis-server on a free loopback port; yield its URL; stop it."""
    assert REDIS_SERVER is not None, SKIP_REASON
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        REDIS_SERVER,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url)

    async def answers() -> bool:
        try:
            return bool(await client.ping())
        except RedisConnectionError:
            return False

    try:
        await wait_until(answers, "redis-server answers PING")
        yield url
    finally:
        await client.aclose()
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def subscribers_of(url: str, channel: str) -> int:
    """How many Redis connections subscribe to `channel` (PUBSUB NUMSUB)."""
    client = Redis.from_url(url)
    try:
        counts = await client.pubsub_numsub(channel)
    finally:
        await client.aclose()
    return int(counts[0][1])
