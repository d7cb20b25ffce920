"""Live calls over graphql-transport-ws, through a real WebSocket client."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.api.test_log_call import LOG_CALL, call
from tests.factories import TestProject, gql

CALL_LOGGED = """
subscription Live($filter: LogFilterInput) {
  callLogged(filter: $filter) { id model provider totalTokens }
}
"""


@asynccontextmanager
async def graphql_ws(
    live_url: str, payload: dict[str, Any]
) -> AsyncIterator[ClientConnection]:
    async with connect(
        f"ws://{live_url}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        yield ws


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def subscribe(
    ws: ClientConnection, variables: dict[str, Any] | None = None
) -> None:
    ack = await next_message(ws)
    assert ack["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": CALL_LOGGED, "variables": variables or {}},
            }
        )
    )
    # Let the server register the subscription before anything is published.
    await asyncio.sleep(0.2)


async def test_a_subscriber_receives_calls_recorded_after_it_subscribed(
    client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    async with graphql_ws(
        live_url, {"authorization": f"Bearer {project.reader}"}
    ) as ws:
        await subscribe(ws, {"filter": {"models": ["gpt-4o"]}})
        for call_id, model in (("skip-me", "gpt-4o-mini"), ("want-me", "gpt-4o")):
            result = await gql(
                client,
                LOG_CALL,
                {"input": call(id=call_id, model=model)},
                key=project.ingest,
            )
            assert result.errors == []

        message = await next_message(ws)

    assert message["type"] == "next"
    assert message["payload"]["data"]["callLogged"] == {
        "id": "want-me",
        "model": "gpt-4o",
        "provider": "openai",
        "totalTokens": 120,
    }


async def test_a_subscriber_of_another_project_receives_nothing(
    client: httpx.AsyncClient,
    live_url: str,
    project: TestProject,
    other_project: TestProject,
) -> None:
    async with graphql_ws(
        live_url, {"authorization": f"Bearer {other_project.reader}"}
    ) as ws:
        await subscribe(ws)
        await gql(
            client, LOG_CALL, {"input": call(id="secret-call")}, key=project.ingest
        )
        await gql(
            client, LOG_CALL, {"input": call(id="own-call")}, key=other_project.ingest
        )

        message = await next_message(ws)

    # The first event B sees is its own call: A's call never reached it.
    assert message["payload"]["data"]["callLogged"]["id"] == "own-call"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="no key"),
        pytest.param(
            {"authorization": "Bearer llmd_admin_not-a-real-key"}, id="unknown key"
        ),
    ],
)
async def test_a_websocket_without_a_valid_key_is_closed_with_4403(
    live_url: str, payload: dict[str, Any]
) -> None:
    async with graphql_ws(live_url, payload) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await next_message(ws)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_an_ingest_key_cannot_subscribe(
    live_url: str, project: TestProject
) -> None:
    async with graphql_ws(
        live_url, {"authorization": f"Bearer {project.ingest}"}
    ) as ws:
        await subscribe(ws)
        message = await next_message(ws)

    assert message["type"] == "error", message
    assert message["payload"][0].get("extensions", {}).get("code") == "FORBIDDEN", (
        message
    )
