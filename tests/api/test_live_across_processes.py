"""Two real server processes on one store and one Redis: a call ingested
through process A reaches subscribers of both A and B."""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.pubsub import calls_topic
from app.pubsub.redis_broker import CHANNEL_PREFIX
from app.settings import Settings
from app.store.embedded import EmbeddedStore
from tests.api.test_live_feeds import CALL_LOGGED, LOG_CALL, call
from tests.api.test_live_usage import USAGE
from tests.factories import TestProject
from tests.live_helpers import LiveClient, free_port, wait_until
from tests.redis_server import requires_redis, subscribers_of

pytestmark = requires_redis

REPOSITORY = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def server_process(
    *, store: EmbeddedStore, settings: Settings, redis_url: str, logs: Path
) -> AsyncIterator[str]:
    """`python -m app serve` on a free port; yields its host:port once ready."""
    port = free_port()
    environment = os.environ | {
        "MONGODB_URI": store.uri,
        "LLMD_DATABASE_NAME": settings.database_name,
        "LLMD_ENVIRONMENT": "test",
        "LLMD_HOST": "127.0.0.1",
        "LLMD_PORT": str(port),
        "LLMD_REDIS_URL": redis_url,
        "LLMD_LOG_FORMAT": "json",
    }
    with logs.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "serve",
            cwd=REPOSITORY,
            env=environment,
            stdout=output,
            stderr=output,
        )
    url = f"127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=f"http://{url}") as http:

            async def ready() -> bool:
                if process.returncode is not None:
                    message = f"server exited ({process.returncode}); output in {logs}"
                    raise AssertionError(message)
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(ready, f"the server on port {port} is ready")
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await process.wait()


@pytest.mark.usefixtures("app")
async def test_a_call_logged_on_one_process_reaches_subscribers_of_both(
    store: EmbeddedStore,
    settings: Settings,
    redis_url: str,
    project: TestProject,
    tmp_path: Path,
) -> None:
    channel = CHANNEL_PREFIX + calls_topic(project.id)
    async with AsyncExitStack() as stack:
        process_a, process_b = [
            await stack.enter_async_context(
                server_process(
                    store=store,
                    settings=settings,
                    redis_url=redis_url,
                    logs=tmp_path / f"{name}.log",
                )
            )
            for name in ("a", "b")
        ]
        on_a = await stack.enter_async_context(
            LiveClient.open(process_a, project.reader)
        )
        on_b = await stack.enter_async_context(
            LiveClient.open(process_b, project.reader)
        )
        feed_a = await on_a.subscribe(CALL_LOGGED)
        feed_b = await on_b.subscribe(CALL_LOGGED)
        usage_b = await on_b.subscribe(USAGE, {"interval": 1, "window": 5})
        assert (await on_b.next_data(usage_b))["usageTicked"]["callCount"] == 0

        # One Redis subscription per process, however many local subscribers.
        async def both_processes_listen() -> bool:
            return await subscribers_of(redis_url, channel) == 2

        await wait_until(both_processes_listen, "processes A and B listen on Redis")

        async with httpx.AsyncClient(base_url=f"http://{process_a}") as http:
            response = await http.post(
                "/graphql",
                json={"query": LOG_CALL, "variables": {"input": call("via-a")}},
                headers={"Authorization": f"Bearer {project.ingest}"},
            )
        assert response.json() == {"data": {"logCall": {"id": "via-a"}}}

        assert (await on_b.next_data(feed_b))["callLogged"]["id"] == "via-a"
        assert (await on_a.next_data(feed_a))["callLogged"]["id"] == "via-a"
        # B's live usage window was fed by the event from A as well.
        tick = (await on_b.next_data(usage_b))["usageTicked"]
        while tick["callCount"] == 0:
            tick = (await on_b.next_data(usage_b))["usageTicked"]
        assert tick["callCount"] == 1
