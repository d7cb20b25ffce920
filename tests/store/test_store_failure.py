"""The store fails in the middle of a stream of batched writes, then comes back.

A real `python -m app serve` process on its own data folder (the session's
store is left alone). Its embedded store is killed (the supervisor starts it
again) and later frozen with SIGSTOP, then thawed. Every call is sent in
batches of five, alternately as `POST /v1/logs` and as five aliased `logCall`s in
one GraphQL request. Afterwards: every
acknowledged call is stored exactly once, every call not acknowledged was
reported as failed to its sender, nothing failed any other way, `/readyz`
was 503 during the outage, and the service recovered without a restart.
"""

import asyncio
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.store.address import read_address
from tests.service import Service, start_service

BATCH = 5
SESSION = "fault-session"
RETRYABLE_CODES = {"UNAVAILABLE", "TIMEOUT"}


def batch_mutation(ids: list[str]) -> str:
    fields = " ".join(
        f'c{index}: logCall(input: {{id: "{call_id}", provider: "openai", '
        f'model: "gpt-4o-mini", sessionId: "{SESSION}", promptTokens: 10, '
        f"completionTokens: 2}}) {{ id }}"
        for index, call_id in enumerate(ids)
    )
    return f"mutation {{ {fields} }}"


@dataclass
class Outcomes:
    """What each sender was told about each call."""

    acked: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    retry_after_seen: bool = False
    plain_http_503: bool = False

    def record(self, ids: list[str], response: httpx.Response | None) -> None:
        if response is None:  # the connection broke: the sender saw an error
            self.failed.update(ids)
            return
        if response.status_code in (503, 504):
            self.failed.update(ids)
            self.retry_after_seen |= "retry-after" in response.headers
            if response.status_code == 503 and "error" in response.json():
                self.plain_http_503 |= "retry-after" in response.headers
            return
        body: dict[str, Any] = response.json()
        if "results" in body and response.status_code in (200, 207):
            # POST /v1/logs: one result per call.
            for result in body["results"]:
                acked = result["status"] in ("stored", "duplicate")
                (self.acked if acked else self.failed).add(result["id"])
                code = (result.get("error") or {}).get("code")
                if not acked and code not in RETRYABLE_CODES:
                    self.unexpected.append(f"item refused with {code}")
            return
        codes = {
            (error.get("extensions") or {}).get("code")
            for error in body.get("errors") or ()
        }
        if response.status_code != 200 or not codes <= RETRYABLE_CODES:
            self.unexpected.append(f"{response.status_code} {response.text[:300]}")
            return
        if codes:
            self.retry_after_seen |= "retry-after" in response.headers
        data = body.get("data")
        if data is None:
            # One call failed and nulled the whole answer: none is acknowledged.
            self.failed.update(ids)
            return
        for index, call_id in enumerate(ids):
            if (data.get(f"c{index}") or {}).get("id") == call_id:
                self.acked.add(call_id)
            else:
                self.failed.add(call_id)


def v1_logs_body(ids: list[str]) -> dict[str, Any]:
    calls = [
        {"id": call_id, "provider": "openai", "model": "gpt-4o-mini",
         "sessionId": SESSION, "promptTokens": 10, "completionTokens": 2}
        for call_id in ids
    ]  # fmt: skip
    return {"logs": calls}


async def send_batch(
    http: httpx.AsyncClient, key: str, ids: list[str], outcomes: Outcomes
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    plain_http = int(ids[0].rsplit("-", 2)[-2]) % 2 == 1
    try:
        if plain_http:
            response = await http.post(
                "/v1/logs", json=v1_logs_body(ids), headers=headers
            )
        else:
            response = await http.post(
                "/graphql", json={"query": batch_mutation(ids)}, headers=headers
            )
    except httpx.TransportError:
        outcomes.record(ids, None)
        return
    outcomes.record(ids, response)


async def watch_readiness(http: httpx.AsyncClient, seen: list[int]) -> None:
    while True:
        try:
            seen.append((await http.get("/readyz")).status_code)
        except httpx.TransportError:
            seen.append(0)
        await asyncio.sleep(0.1)


def store_pid(service: Service) -> int:
    address = read_address(service.data_dir)
    assert address is not None
    return address["pid"]


async def wait_for_new_store(service: Service, old_pid: int) -> None:
    def replaced() -> bool:
        address = read_address(service.data_dir)
        return address is not None and address["pid"] != old_pid

    async with asyncio.timeout(60):
        while not replaced():  # noqa: ASYNC110 - another process writes the file
            await asyncio.sleep(0.1)


async def stored_calls(http: httpx.AsyncClient, key: str) -> tuple[int, list[str]]:
    """The session's call count and every stored call id (paging through)."""
    ids: list[str] = []
    after = None
    while True:
        body = (
            await http.post(
                "/graphql",
                json={
                    "query": "query Q($after: String) { logs(pagination: "
                    "{first: 100, after: $after}) { items { id } pageInfo "
                    '{ hasNextPage endCursor } } session(id: "fault-session") '
                    "{ callCount } }",
                    "variables": {"after": after},
                },
                headers={"Authorization": f"Bearer {key}"},
            )
        ).json()
        page = body["data"]["logs"]
        ids.extend(item["id"] for item in page["items"])
        if not page["pageInfo"]["hasNextPage"]:
            return body["data"]["session"]["callCount"], ids
        after = page["pageInfo"]["endCursor"]


async def test_writes_survive_a_store_crash_and_freeze_without_loss_or_doubles(
    tmp_path: Path,
) -> None:
    service = await start_service(
        tmp_path / "data",
        environment="test",
        store_timeout_ms="1000",
        operation_timeout_s="2",
        key_cache_ttl_s="300",
        rate_limit_per_s="0",
    )
    key = service.keys["admin"]
    outcomes = Outcomes()
    readiness: list[int] = []
    sent: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
            watcher = asyncio.create_task(watch_readiness(http, readiness))

            async def stream(batches: int, label: str) -> None:
                for number in range(batches):
                    ids = [f"{label}-{number}-{index}" for index in range(BATCH)]
                    sent.extend(ids)
                    await send_batch(http, key, ids, outcomes)

            await stream(8, "before")

            # A crash: the supervisor notices and starts the store again.
            crashed = store_pid(service)
            os.kill(crashed, signal.SIGKILL)
            await stream(6, "crash")
            await wait_for_new_store(service, crashed)
            await stream(6, "after-crash")

            # A freeze: the store holds connections but answers nothing.
            frozen = store_pid(service)
            os.kill(frozen, signal.SIGSTOP)
            try:
                await stream(3, "frozen")
            finally:
                os.kill(frozen, signal.SIGCONT)
            await stream(8, "after-freeze")

            watcher.cancel()
            # The sender retries what it was told failed; ids make it idempotent.
            retried = sorted(outcomes.failed - outcomes.acked)
            for start in range(0, len(retried), BATCH):
                await send_batch(http, key, retried[start : start + BATCH], outcomes)
            call_count, stored = await stored_calls(http, key)
            ready_at_end = (await http.get("/readyz")).status_code
    finally:
        await service.stop()

    assert outcomes.unexpected == []
    # Both outages were noticed by the writes sent during them.
    assert any(call_id.startswith("crash-") for call_id in outcomes.failed)
    assert any(call_id.startswith("frozen-") for call_id in outcomes.failed)
    assert outcomes.retry_after_seen
    assert outcomes.plain_http_503  # POST /v1/logs: 503 with Retry-After
    assert 503 in readiness
    assert ready_at_end == 200
    # Everything sent was either acknowledged or reported failed, then retried.
    assert set(sent) == outcomes.acked | outcomes.failed
    assert outcomes.failed <= outcomes.acked  # every retry was acknowledged
    # Stored exactly once, and the session's totals counted each call once.
    assert sorted(stored) == sorted(set(stored))
    assert set(stored) == set(sent)
    assert call_count == len(sent)
