"""A small graphql-transport-ws client for tests."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class GraphQLSocket:
    """One acknowledged graphql-transport-ws connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout_s: float = 10) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout_s)
        message: dict[str, Any] = json.loads(raw)
        return message


@asynccontextmanager
async def graphql_socket(
    address: str, key: str, *, origin: str | None = None
) -> AsyncIterator[GraphQLSocket]:
    """Connect to ws://address/graphql and authenticate with `key`."""
    headers = {"Origin": origin} if origin else None
    async with connect(
        f"ws://{address}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]  # websockets types subprotocols as a NewType
        additional_headers=headers,
        open_timeout=10,
    ) as connection:
        socket = GraphQLSocket(connection)
        await socket.send(
            {"type": "connection_init", "payload": {"authorization": key}}
        )
        ack = await socket.receive()
        assert ack["type"] == "connection_ack", ack
        yield socket
