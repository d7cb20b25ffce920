"""Live-feed limits over real sockets: auth, revocation, connection caps, sizes,
and a slow subscriber that must not hold anyone else back."""

import asyncio
import json
import socket
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette

from app.documents import Project
from app.documents.project import Scope
from app.pubsub import calls_topic
from app.services.keys import issue_key, revoke_key
from app.settings import Settings
from tests.api.test_live_feeds import CALL_LOGGED, call, record, wait_for_subscribers
from tests.factories import TestProject
from tests.live_helpers import LiveClient, live_app, wait_until


async def test_connection_init_with_an_unknown_key_is_closed_with_4403(
    live_url: str,
) -> None:
    async with LiveClient.open(
        live_url, "llmd_read_not-a-real-key", expect_ack=False
    ) as live:
        code, reason = await live.closed()

    assert code == 4403
    assert "API key" in reason


async def test_connection_init_accepts_the_api_key_field(
    live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, payload={"apiKey": project.reader}) as live:
        await live.send({"type": "ping"})
        assert (await live.receive())["type"] == "pong"


async def test_a_socket_without_connection_init_is_closed_with_4408(
    app: Starlette, settings: Settings
) -> None:
    async with (
        live_app(settings, ws_init_timeout_s=0.2) as (_, url),
        LiveClient.open(url, expect_ack=False) as live,
    ):
        code, _ = await live.closed()

    assert code == 4408


async def test_connections_per_key_are_capped_and_a_closed_one_frees_its_slot(
    app: Starlette, settings: Settings, project: TestProject
) -> None:
    async with live_app(settings, max_connections_per_key=2) as (custom, url):
        guard = custom.state.connections
        async with (
            LiveClient.open(url, project.reader),
            LiveClient.open(url, project.reader),
        ):
            async with LiveClient.open(url, project.reader, expect_ack=False) as third:
                code, reason = await third.closed()
            # Another key of the same project has its own allowance.
            async with LiveClient.open(url, project.admin):
                pass

        key_id = (await custom.state.verifier.verify(project.reader)).key_id
        await wait_until(
            lambda: guard.open_count(key_id) == 0, "both sockets are released"
        )
        async with LiveClient.open(url, project.reader) as again:
            await again.send({"type": "ping"})
            assert (await again.receive())["type"] == "pong"

    assert code == 4429
    assert "2 open connections" in reason


async def test_a_revoked_key_loses_its_feed_and_other_keys_keep_theirs(
    app: Starlette, settings: Settings, project: TestProject
) -> None:
    async with (
        live_app(settings, ws_key_recheck_s=0.1, key_cache_ttl_s=0) as (custom, url),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=custom), base_url="http://test"
        ) as client,
        LiveClient.open(url, project.reader) as doomed,
        LiveClient.open(url, project.admin) as survivor,
    ):
        doomed_feed = await doomed.subscribe(CALL_LOGGED)
        survivor_feed = await survivor.subscribe(CALL_LOGGED)
        await wait_for_subscribers(custom, calls_topic(project.id), 2)
        await record(client, project.ingest, call("before"))
        assert (await doomed.next_data(doomed_feed))["callLogged"]["id"] == "before"

        verifier = custom.state.verifier
        key_id = (await verifier.verify(project.reader)).key_id
        assert await revoke_key(project.id, key_id, verifier, keep_an_admin=True)

        code, reason = await doomed.closed()
        await record(client, project.ingest, call("after"))
        assert (await survivor.next_data(survivor_feed))["callLogged"]["id"] == "before"
        assert (await survivor.next_data(survivor_feed))["callLogged"]["id"] == "after"

    assert code == 4403
    assert reason == "API key revoked"


async def test_a_message_over_the_size_limit_closes_the_socket_with_1009(
    live_url: str, settings: Settings, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        padding = "#" * (settings.max_ws_message_bytes + 1)
        await live.send({"id": "1", "type": "subscribe", "payload": {"query": padding}})
        code, _ = await live.closed()

    assert code == 1009


async def test_a_slow_subscriber_is_dropped_and_told_while_others_get_every_call(
    app: Starlette, settings: Settings, project: TestProject
) -> None:
    """The slow client stops reading; its server-side backlog fills, it is dropped
    with an UNAVAILABLE error, the drop is counted, and neither ingest nor the
    fast subscriber waits for it."""
    async with (
        live_app(settings, subscriber_queue_size=4) as (custom, url),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=custom), base_url="http://test"
        ) as client,
        LiveClient.open(url, project.reader) as fast,
        LiveClient.open(
            url,
            project.reader,
            compression=None,
            max_queue=1,
            sock=_small_buffer_socket(url),
        ) as slow,
    ):
        fast_feed = await fast.subscribe(CALL_LOGGED_WITH_PROMPT)
        slow_feed = await slow.subscribe(CALL_LOGGED_WITH_PROMPT)
        await wait_for_subscribers(custom, calls_topic(project.id), 2)

        received: list[str] = []

        async def read_fast() -> None:
            while True:
                data = await fast.next_data(fast_feed)
                received.append(data["callLogged"]["id"])

        reader = asyncio.create_task(read_fast())
        sent: list[str] = []
        feeds = custom.state.shared_feeds
        # Bounded: the slow socket's buffers hold a few megabytes at most.
        while feeds.dropped_subscribers == 0 and len(sent) < 2000:
            call_id = f"c{len(sent)}"
            await record(
                client,
                project.ingest,
                call(call_id, prompt=_PROMPT, response=_PROMPT),
            )
            sent.append(call_id)
        await wait_until(
            lambda: len(received) >= len(sent) or reader.done(),
            "the fast subscriber has every call",
        )
        if reader.done():
            reader.result()  # raise what stopped the fast subscriber
        reader.cancel()

        messages = [await slow.next_message(slow_feed)]
        while (
            messages[-1]["type"] == "next" and "errors" not in messages[-1]["payload"]
        ):
            messages.append(await slow.next_message(slow_feed))
        ending = await slow.next_message(slow_feed)

    assert feeds.dropped_subscribers == 1
    assert received == sent
    errors = LiveClient.errors_of(messages[-1])
    assert errors[0]["extensions"]["code"] == "UNAVAILABLE"
    assert "subscribe again" in errors[0]["message"]
    assert ending == {"id": slow_feed, "type": "complete"}
    # What the slow subscriber did get is an in-order prefix of the calls.
    delivered = [
        message["payload"]["data"]["callLogged"]["id"] for message in messages[:-1]
    ]
    assert delivered == sent[: len(delivered)]


CALL_LOGGED_WITH_PROMPT = "subscription Big { callLogged { id prompt response } }"
_PROMPT = json.dumps([f"{index:05d}" for index in range(3500)])  # about 30 kB


def _small_buffer_socket(url: str) -> socket.socket:
    """A client socket whose receive buffer is tiny, so the server's sends block."""
    host, _, port = url.partition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    return sock


async def test_revoking_the_key_that_started_a_shared_feed_keeps_it_for_others(
    app: Starlette, settings: Settings, project: TestProject
) -> None:
    second_reader = await add_key(project.id, ["read"])
    async with (
        live_app(settings, ws_key_recheck_s=0.1, key_cache_ttl_s=0) as (custom, url),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=custom), base_url="http://test"
        ) as client,
        LiveClient.open(url, project.reader) as starter,
    ):
        await starter.subscribe(CALL_LOGGED)
        async with LiveClient.open(url, second_reader) as other:
            other_feed = await other.subscribe(CALL_LOGGED)
            await wait_for_subscribers(custom, calls_topic(project.id), 2)
            assert custom.state.shared_feeds.counts(project.id, "callLogged") == (1, 2)

            verifier = custom.state.verifier
            key_id = (await verifier.verify(project.reader)).key_id
            assert await revoke_key(project.id, key_id, verifier, keep_an_admin=True)
            code, _ = await starter.closed()

            await record(client, project.ingest, call("still-flowing"))
            event = await other.next_data(other_feed)

    assert code == 4403
    assert event["callLogged"]["id"] == "still-flowing"


async def add_key(project_id: str, scopes: list[Scope]) -> str:
    """Another key for an existing project; returns its secret."""
    issued = issue_key("extra", scopes, now=datetime.now(UTC))
    await Project.get_pymongo_collection().update_one(
        {"_id": project_id},
        {"$push": {"api_keys": issued.api_key.model_dump(mode="python")}},
    )
    return issued.secret
