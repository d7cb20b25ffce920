"""Push latency of the live feed, from a call's acknowledgement to its delivery.

Run by hand: `.venv/bin/python bench/live.py` (the Redis half needs
`redis-server` on PATH). Prints a Markdown section for bench/RESULTS.md.

What it does, per mode:

- Starts real server processes (`bench/live.py serve`, which is `create_app()`
  under uvicorn plus two bench-only routes) on one embedded store.
- A driver inside the ingesting process produces each rate's calls per second for
  SECONDS: each is validated and priced exactly like `logCall`, stamped with the
  wall-clock time at which ingest would hold the store's acknowledgement, and
  handed to `publish_calls` (one publish per call, the worst case for batching).
  The store write itself is left out: the embedded store takes a few hundred
  writes per second on this machine (see "Store inserts"), far below the rate
  this benchmark is about, and a real MongoDB is not available here.
- SUBSCRIBERS WebSocket clients (graphql-transport-ws, `callLogged`) on the
  delivering process record the wall-clock time each event arrives.
- Latency = arrival time - acknowledgement time, over every delivery.
- CPU per delivered event = (CPU of the delivering process with subscribers -
  CPU of the same run without subscribers) / deliveries, both measured in this
  run, so the driver's own work cancels out.

Modes: "in-process" (one process ingests and delivers) and "Redis" (process A
ingests and publishes to Redis, process B delivers to the subscribers).
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

# Calls per second: the target, then a lighter load for comparison (--rates).
RATES = (500, 100)
SUBSCRIBERS = 50  # --subscribers overrides
SECONDS = 15.0
WARMUP_S = 3.0
DRAIN_S = 2.0
TARGET_P99_MS = 50.0
COMPRESSION = False  # --deflate: clients offer permessage-deflate, as browsers do
SUBSCRIPTION = "subscription Bench { callLogged { id metadata } }"


# The server side: `bench/live.py serve --port P --key-file F`.


def serve(port: int, key_file: Path) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from app.main import StartupInfo, create_app
    from app.settings import get_settings

    settings = get_settings()

    def remember_key(info: StartupInfo) -> None:
        if info.bootstrap is not None:
            key_file.write_text(info.bootstrap.admin.secret)

    app = create_app(settings, on_startup=remember_key)

    async def watch_lag() -> None:
        app.state.lag_ms = 0.0
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.05)
            lag = (time.perf_counter() - started - 0.05) * 1000
            app.state.lag_ms = max(app.state.lag_ms, lag)

    async def drive(request: Request) -> Response:
        if not hasattr(app.state, "lag_ms"):
            asyncio.get_running_loop().create_task(watch_lag())
        body = await request.json()
        asyncio.get_running_loop().create_task(
            run_driver(app, rate=body["rate"], seconds=body["seconds"])
        )
        return JSONResponse({"started": True})

    async def cpu(request: Request) -> Response:
        times = os.times()
        return JSONResponse(
            {
                "cpu_s": times.user + times.system,
                "sent": getattr(app.state, "sent", 0),
                "lag_ms": getattr(app.state, "lag_ms", 0),
            }
        )

    app.router.routes.insert(0, Route("/bench/drive", drive, methods=["POST"]))
    app.router.routes.insert(0, Route("/bench/cpu", cpu))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        ws_max_size=settings.max_ws_message_bytes,
    )


async def run_driver(app: Any, *, rate: float, seconds: float) -> None:
    from app.services.call_input import CallIn
    from app.services.call_validation import validate_call
    from app.services.calls import ingest_rules, price_log, publish_calls

    settings = app.state.settings
    broker = app.state.broker
    project_id = "default"
    rules = await ingest_rules(project_id, settings)
    started = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        while sent < int(elapsed * rate):
            call = CallIn(
                provider="openai",
                model="gpt-4o-mini",
                user_id=f"user-{sent % 100}",
                prompt_tokens=120,
                completion_tokens=30,
                duration_ms=420.0,
            )
            document = validate_call(
                call, project_id=project_id, limits=rules.limits, now=datetime.now(UTC)
            )
            price_log(document, rules.custom_prices)
            # Here real ingest holds the store's acknowledgement.
            document.metadata["acked_at"] = time.time()
            await publish_calls(project_id, [document], broker)
            sent += 1
            app.state.sent = sent
        await asyncio.sleep(0.002)


# The measuring side.


@dataclass
class Outcome:
    label: str
    rate: int
    acked: int
    produced: int
    delivered: int
    latencies_ms: list[float]
    cpu_deliveries_s: float
    dropped: int

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, round(fraction * len(ordered)) - 1)]

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_deliveries_s / max(1, self.delivered) * 1e6


@asynccontextmanager
async def server(
    *, store_uri: str, key_file: Path, redis_url: str | None, log: Path
) -> AsyncIterator[str]:
    port = free_port()
    environment = os.environ | {
        "MONGODB_URI": store_uri,
        "LLMD_ENVIRONMENT": "production",
        "LLMD_LOG_LEVEL": "WARNING",
        "LLMD_MAX_CONNECTIONS_PER_KEY": str(SUBSCRIBERS * 2),
    }
    if redis_url is not None:
        environment["LLMD_REDIS_URL"] = redis_url
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once per mode
            [
                sys.executable,
                __file__,
                "serve",
                "--port",
                str(port),
                "--key-file",
                str(key_file),
            ],
            env=environment,
            stdout=output,
            stderr=output,
        )
    url = f"127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=f"http://{url}") as http:
            for _ in range(600):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError(f"server exited; see {log}")
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.to_thread(process.wait, 30)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Probe:
    """A server process's CPU seconds so far and the calls its driver produced."""

    cpu_s: float
    sent: int

    @classmethod
    async def read(cls, http: httpx.AsyncClient) -> "Probe":
        body = (await http.get("/bench/cpu")).json()
        return cls(cpu_s=float(body["cpu_s"]), sent=int(body["sent"]))


async def window(
    ingest: httpx.AsyncClient, deliver: httpx.AsyncClient, rate: int
) -> tuple[float, float, float, int]:
    """Drive `rate` calls/s; measure SECONDS after WARMUP_S.

    Returns the window's wall-clock start and end, the delivering process's CPU
    seconds in it, and the calls produced in it.
    """
    await ingest.post(
        "/bench/drive", json={"rate": rate, "seconds": WARMUP_S + SECONDS}
    )
    await asyncio.sleep(WARMUP_S)
    started = time.time()
    cpu_before, sent_before = await Probe.read(deliver), await Probe.read(ingest)
    await asyncio.sleep(SECONDS)
    cpu_after, sent_after = await Probe.read(deliver), await Probe.read(ingest)
    ended = time.time()
    await asyncio.sleep(DRAIN_S)
    return (
        started,
        ended,
        cpu_after.cpu_s - cpu_before.cpu_s,
        sent_after.sent - sent_before.sent,
    )


async def subscriber(
    url: str,
    key: str,
    arrivals: list[tuple[float, float, str]],
    dropped: list[float],
    ready: asyncio.Event,
) -> None:
    async with connect(
        f"ws://{url}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        proxy=None,
        compression=None if not COMPRESSION else "deflate",
    ) as websocket:
        await websocket.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {key}"},
                }
            )
        )
        await websocket.recv()
        await websocket.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
            )
        )
        ready.set()
        async for raw in websocket:
            arrived = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            if "errors" in message["payload"]:
                # Dropped for falling behind: the client would resubscribe.
                dropped.append(arrived)
                return
            event = message["payload"]["data"]["callLogged"]
            arrivals.append((arrived, event["metadata"]["acked_at"], event["id"]))


async def run_mode(
    label: str, *, rate: int, ingest: str, deliver: str, key: str
) -> Outcome:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(
            base_url=f"http://{ingest}", headers=headers, timeout=120
        ) as ingest_http,
        httpx.AsyncClient(
            base_url=f"http://{deliver}", headers=headers, timeout=120
        ) as deliver_http,
    ):
        # Baseline: the same load with nobody listening.
        _, _, cpu_base, sent_base = await window(ingest_http, deliver_http, rate)

        arrivals: list[tuple[float, float, str]] = []
        dropped: list[float] = []
        readies = [asyncio.Event() for _ in range(SUBSCRIBERS)]
        clients = [
            asyncio.create_task(subscriber(deliver, key, arrivals, dropped, ready))
            for ready in readies
        ]
        await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(0.5)
        started, ended, cpu_live, sent_live = await window(
            ingest_http, deliver_http, rate
        )
        for client in clients:
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)

    measured = [arrival for arrival in arrivals if started <= arrival[1] < ended]
    # The driver's own CPU (in-process mode) scales with the calls it produced.
    cpu_deliveries = cpu_live - cpu_base / max(1, sent_base) * sent_live
    print(
        f"{label} at {rate}/s: {len(measured)} deliveries in the window, "
        f"{len(dropped)} subscribers dropped, {sent_live} calls produced; CPU "
        f"{cpu_base:.1f} s without subscribers, {cpu_live:.1f} s with",
        file=sys.stderr,
    )
    return Outcome(
        label=label,
        rate=rate,
        acked=len({call_id for _, _, call_id in measured}),
        produced=sent_live,
        delivered=len(measured),
        latencies_ms=[(arrived - acked) * 1000 for arrived, acked, _ in measured],
        cpu_deliveries_s=cpu_deliveries,
        dropped=len(dropped),
    )


@asynccontextmanager
async def redis(workdir: Path) -> AsyncIterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


def load_average() -> str:
    """The machine's 1-minute load average: other work competes for the cores."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


async def measure(rates: list[int]) -> tuple[list[Outcome], list[str]]:
    from app.store.embedded import EmbeddedStore

    outcomes: list[Outcome] = []
    loads = [load_average()]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        store = EmbeddedStore(work / "store")
        await store.start()
        key_file = work / "key"
        try:
            async with server(
                store_uri=store.uri,
                key_file=key_file,
                redis_url=None,
                log=work / "a.log",
            ) as single:
                key = key_file.read_text()
                for rate in rates:
                    print(f"measuring in-process at {rate}/s…", file=sys.stderr)
                    outcomes.append(
                        await run_mode(
                            "in-process",
                            rate=rate,
                            ingest=single,
                            deliver=single,
                            key=key,
                        )
                    )
            async with redis(work) as redis_url:
                if redis_url is None:
                    print("redis-server not found: no Redis rows", file=sys.stderr)
                    return outcomes, [*loads, load_average()]
                async with (
                    server(
                        store_uri=store.uri,
                        key_file=key_file,
                        redis_url=redis_url,
                        log=work / "b.log",
                    ) as ingest,
                    server(
                        store_uri=store.uri,
                        key_file=key_file,
                        redis_url=redis_url,
                        log=work / "c.log",
                    ) as deliver,
                ):
                    for rate in rates:
                        print(f"measuring through Redis at {rate}/s…", file=sys.stderr)
                        outcomes.append(
                            await run_mode(
                                "Redis (A ingests, B delivers)",
                                rate=rate,
                                ingest=ingest,
                                deliver=deliver,
                                key=key,
                            )
                        )
        finally:
            await store.stop()
    return outcomes, [*loads, load_average()]


def report(outcomes: list[Outcome], loads: list[str]) -> None:
    baselines = {o.rate: o for o in outcomes if o.label == "in-process"}
    print(
        f"## Live ({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {loads[0]} at start and {loads[-1]} at end)"
    )
    print()
    print(
        "`bench/live.py`: push latency from a call's acknowledgement to its delivery "
        f"to each of {SUBSCRIBERS} WebSocket subscribers of `callLogged` (one shared "
        "feed), one publish per call, measured over "
        f"{SECONDS:.0f} s after a {WARMUP_S:.0f} s warm-up. Clients "
        + ("offer" if COMPRESSION else "do not offer")
        + " permessage-deflate. Server processes, Redis and all 50 clients (one Python "
        "process) share the machine. CPU per delivered event: the delivering process's "
        "CPU with subscribers, minus its CPU per produced call without subscribers "
        "times the calls produced, divided by deliveries. Delivered counts events "
        "acknowledged in the window and received by a subscriber, against (calls "
        "delivered to anyone) x subscribers. Ratios are against the in-process row "
        "at the same rate, measured in this run."
    )
    print()
    print(
        "| mode | calls/s asked | calls/s produced | delivered | dropped subscribers | p50 ms "
        "| p99 ms | max ms | CPU µs / delivered event | p99 vs in-process |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for outcome in outcomes:
        p99 = outcome.percentile(0.99)
        baseline = baselines[outcome.rate].percentile(0.99)
        expected = max(1, outcome.acked * SUBSCRIBERS)
        print(
            f"| {outcome.label} | {outcome.rate} | {outcome.produced / SECONDS:,.0f} "
            f"| {outcome.delivered:,} ({outcome.delivered / expected:.1%}) "
            f"| {outcome.dropped} | {statistics.median(outcome.latencies_ms):.1f} "
            f"| {p99:.1f} | {max(outcome.latencies_ms):.1f} "
            f"| {outcome.cpu_us_per_event:.0f} | {p99 / baseline:.2f}x |"
        )
    print()
    top = baselines[max(baselines)]
    verdict = "met" if top.percentile(0.99) <= TARGET_P99_MS else "missed"
    print(
        f"Target p99 ≤ {TARGET_P99_MS:.0f} ms in-process at {top.rate} calls/s: {verdict}."
    )


def main() -> None:
    global SUBSCRIBERS, COMPRESSION  # the script's knobs, set once from the command line
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serving = commands.add_parser("serve")
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--rates", default=",".join(str(rate) for rate in RATES))
    parser.add_argument("--subscribers", type=int, default=SUBSCRIBERS)
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.key_file)
        return
    SUBSCRIBERS, COMPRESSION = args.subscribers, args.deflate
    rates = [int(rate) for rate in args.rates.split(",")]
    report(*asyncio.run(measure(rates)))


if __name__ == "__main__":
    main()
