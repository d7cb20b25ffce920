"""SIGTERM on a production `python -m app serve`: drain, finish, close, stop cleanly.

Also checks the production log format: one JSON object per line, with the
request id that the response carried in `X-Request-ID`.
"""

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from app.store.address import data_dir_is_locked, read_address
from tests.service import start_service
from tests.ws import graphql_socket

RECORD = 'mutation { logCall(input: {id: "during-drain", provider: "p", model: "m"}) { id } }'
FIND = '{ log(id: "during-drain") { id } }'


async def test_sigterm_drains_then_stops_everything_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    service = await start_service(
        data_dir, environment="production", shutdown_drain_s="2"
    )
    key = service.keys["admin"]
    headers = {"Authorization": f"Bearer {key}"}
    address = read_address(data_dir)
    assert address is not None
    host = service.url.removeprefix("http://")

    async with (
        httpx.AsyncClient(base_url=service.url) as http,
        graphql_socket(host, key) as socket,
    ):
        await socket.subscribe("live", "subscription { callLogged { id } }")
        assert (await http.get("/readyz")).status_code == 200

        service.signal(signal.SIGTERM)
        await asyncio.sleep(0.3)  # let the signal land
        draining = await http.get("/readyz")
        alive = await http.get("/healthz")
        recorded = await http.post("/graphql", json={"query": RECORD}, headers=headers)

        event = await socket.receive()
        with pytest.raises(ConnectionClosed) as closed:
            await socket.receive(timeout_s=30)
        code = await service.wait(60)

    assert draining.status_code == 503
    assert alive.status_code == 200
    assert recorded.json() == {"data": {"logCall": {"id": "during-drain"}}}
    assert event["payload"]["data"] == {"callLogged": {"id": "during-drain"}}
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012  # service restart: reconnect later
    assert code == 0

    logs = service.logs()
    assert "store.stopped" in logs
    assert "service.stopped" in logs
    with pytest.raises(ProcessLookupError):
        os.kill(address["pid"], 0)
    assert not data_dir_is_locked(data_dir)
    assert read_address(data_dir) is None

    # Production logs are JSON lines carrying the request id of the response.
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    request_id = recorded.headers["x-request-id"]
    recorded_lines = [line for line in lines if line.get("event") == "call.recorded"]
    assert [line.get("request_id") for line in recorded_lines] == [request_id]
    assert key not in logs

    # What was acknowledged during the drain is on disk after a restart.
    again = await start_service(data_dir, environment="production")
    try:
        async with httpx.AsyncClient(base_url=again.url) as http:
            found = await http.post("/graphql", json={"query": FIND}, headers=headers)
    finally:
        await again.stop()
    assert found.json() == {"data": {"log": {"id": "during-drain"}}}
