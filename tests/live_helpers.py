"""Live-feed test tools: a real server, a small graphql-transport-ws client."""

import asyncio
import itertools
import json
import socket
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.main import create_app
from app.settings import Settings

PROTOCOL = Subprotocol("graphql-transport-ws")
# A hang guard for awaits that should finish promptly: a test that waits this
# long has failed; nothing asserts on how fast anything is.
PATIENCE_S = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serve(app: Starlette, *, ws_max_size: int) -> AsyncIterator[str]:
    """`app` behind a real uvicorn socket (its lifespan is the caller's business)."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        ws_max_size=ws_max_size,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def live_app(
    settings: Settings, **overrides: Any
) -> AsyncIterator[tuple[Starlette, str]]:
    """A second app with other settings on its own socket, sharing the test store.

    Its lifespan is not run: the session's app already bound the documents to
    the store, and this one must not close that client.
    """
    custom = settings.model_copy(update=overrides)
    application = create_app(custom)
    try:
        async with serve(application, ws_max_size=custom.max_ws_message_bytes) as url:
            yield application, url
    finally:
        await application.state.usage_windows.close()
        await application.state.broker.close()


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], what: str
) -> None:
    """Poll `condition` until it holds; fail after `PATIENCE_S` saying `what`."""
    try:
        async with asyncio.timeout(PATIENCE_S):
            while True:
                outcome = condition()
                if not isinstance(outcome, bool):
                    outcome = await outcome
                if outcome:
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"gave up waiting until {what}") from None


class LiveClient:
    """Just enough graphql-transport-ws to drive the server from a test."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self._ids = itertools.count(1)
        self._inbox: dict[str, deque[dict[str, Any]]] = defaultdict(deque)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        key: str | None = None,
        *,
        payload: dict[str, Any] | None = None,
        expect_ack: bool = True,
        **options: Any,
    ) -> AsyncIterator["LiveClient"]:
        async with connect(
            f"ws://{url}/graphql",
            subprotocols=[PROTOCOL],
            proxy=None,
            open_timeout=PATIENCE_S,
            **options,
        ) as websocket:
            client = cls(websocket)
            if payload is None and key is not None:
                payload = {"authorization": f"Bearer {key}"}
            if payload is not None:
                await client.send({"type": "connection_init", "payload": payload})
            if expect_ack:
                ack = await client.receive()
                assert ack["type"] == "connection_ack", ack
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next protocol message; answers pings on the way."""
        async with asyncio.timeout(PATIENCE_S):
            while True:
                message: dict[str, Any] = json.loads(await self.websocket.recv())
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                    continue
                return message

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> str:
        operation_id = str(next(self._ids))
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    async def next_message(self, operation_id: str) -> dict[str, Any]:
        """The operation's next message; other operations' are kept for later."""
        inbox = self._inbox[operation_id]
        while not inbox:
            message = await self.receive()
            self._inbox[str(message.get("id"))].append(message)
        return inbox.popleft()

    async def next_data(self, operation_id: str) -> dict[str, Any]:
        """The data of the operation's next `next` message; fail on anything else."""
        message = await self.next_message(operation_id)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    @staticmethod
    def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
        """The errors an operation ended with, as `error` or as `next` with errors."""
        if message["type"] == "error":
            errors: list[dict[str, Any]] = message["payload"]
        else:
            assert message["type"] == "next", message
            errors = message["payload"]["errors"]
        return errors

    async def closed(self) -> tuple[int | None, str]:
        """Wait for the server to close the socket; its code and reason."""
        async with asyncio.timeout(PATIENCE_S):
            try:
                while True:
                    await self.websocket.recv()
            except ConnectionClosed as closed:
                frame = closed.rcvd
                return (frame.code, frame.reason) if frame else (None, "")
