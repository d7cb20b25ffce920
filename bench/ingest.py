"""Ingest benchmark: every route in, against the real service and its embedded store.

Run: `.venv/bin/python bench/ingest.py [--write]` (about a minute and a half).

It starts `python -m app serve` on a free port with a fresh data folder (so the
embedded store runs as its own child process, as in production on one machine),
reads the bootstrap ingest key it prints, and then measures one scenario after
another:

- `logCall`: GraphQL, one call per request, 16 requests in flight;
- `logCalls`: GraphQL, 100 calls per request, 4 in flight;
- `POST /v1/logs`: 100 calls per request, 4 in flight;
- OTLP `POST /v1/traces`: 100 GenAI spans per protobuf request, 4 in flight;
- `POST /api/logs`: the origin SDK's body, one call per request, 16 in flight;
- the store's own `insert_many` ceiling: the same documents, 100 per call, 4 in
  flight, written straight to the same embedded store with PyMongo, and then the
  store's rate for the session, user and roll-up upserts of those documents.

For each it reports acknowledged events per second, request latency
percentiles, and the service process's CPU milliseconds per event (utime +
stime from /proc/<pid>/stat before and after; the store's child process is
counted apart). Last, it reads back every acknowledged call id from the store.
With `--write` the "## Ingest" section of bench/RESULTS.md is replaced.

The load generator is a minimal keep-alive HTTP/1.1 client, so that the client
spends as little of the machine's CPU as possible; it still shares the cores.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from beanie import init_beanie  # noqa: E402

from app.documents import ALL_DOCUMENTS, Log  # noqa: E402
from app.pipelines.rollup import RollupPeriod, rollup_updates  # noqa: E402
from app.services.call_input import CallIn  # noqa: E402
from app.services.call_validation import CallLimits, validate_call  # noqa: E402
from app.services.calls import price_log  # noqa: E402
from app.services.session_totals import session_updates  # noqa: E402
from app.services.users import user_updates  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BATCH = 100
# Conversations and end users a batch of 100 calls spreads over (5 calls each).
SESSIONS = 20
USERS = 20
PROMPT = "Summarise the customer's last three orders and suggest a follow-up. " * 3
RESPONSE = "The customer ordered twice this month; suggest the loyalty offer. " * 3


# --- a minimal HTTP/1.1 keep-alive client ------------------------------------


class Connection:
    """One keep-alive connection; requests on it run one at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port
            )
        assert self.reader is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --- the service under test --------------------------------------------------


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    port: int
    ingest_key: str
    store_uri: str
    store_pid: int
    stderr_path: Path

    def cpu_ticks(self, pid: int | None = None) -> int:
        stat = Path(f"/proc/{pid or self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])  # utime, stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_service(data_dir: Path) -> Service:
    port = free_port()
    stderr_path = data_dir / "service.log"
    env = os.environ | {
        "LLMD_DATA_DIR": str(data_dir / "data"),
        "LLMD_PORT": str(port),
        "LLMD_ENVIRONMENT": "production",
        "LLMD_LOG_FORMAT": "json",
        # Throughput is measured here, not the per-key rate limit (50/s by
        # default), which one key sending single calls would otherwise hit.
        "LLMD_RATE_LIMIT_PER_S": "0",
    }
    env.pop("MONGODB_URI", None)
    env.pop("LLMD_MONGODB_URI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr_path.open("wb"),
    )
    assert process.stdout is not None
    ingest_key = None
    deadline = time.monotonic() + 60
    while ingest_key is None and time.monotonic() < deadline:
        line = process.stdout.readline().decode()
        if not line:
            break
        found = re.search(r"ingest key \(ingest only\):\s+(\S+)", line)
        if found:
            ingest_key = found.group(1)
    if ingest_key is None:
        process.kill()
        raise SystemExit(f"the service did not start; see {stderr_path}")

    store = None
    while store is None and time.monotonic() < deadline:
        for line in stderr_path.read_text().splitlines():
            if '"store.started"' in line:
                store = json.loads(line)
        time.sleep(0.05)
    if store is None:
        raise SystemExit("the embedded store did not report its port")
    return Service(
        process=process,
        port=port,
        ingest_key=ingest_key,
        store_uri=f"mongodb://127.0.0.1:{store['port']}/?directConnection=true",
        store_pid=int(store["pid"]),
        stderr_path=stderr_path,
    )


def stop_service(service: Service) -> None:
    service.process.send_signal(signal.SIGTERM)
    try:
        service.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        service.process.kill()


# --- what each route is sent -------------------------------------------------


def call_fields(index: int, run: str) -> dict[str, Any]:
    return {
        "id": f"{run}-{index}",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "timestamp": datetime.now(UTC).isoformat(),
        "sessionId": f"{run}-s{index % SESSIONS}",
        "userId": f"{run}-u{index % USERS}",
        "prompt": PROMPT,
        "response": RESPONSE,
        "promptTokens": 420,
        "completionTokens": 96,
        "cachedPromptTokens": 128,
        "durationMs": 812.5,
        "metadata": {"feature": "summary", "tier": "pro"},
    }


def origin_body(index: int, run: str, key: str) -> dict[str, Any]:
    fields = call_fields(index, run)
    return {
        "id": fields["id"],
        "timestamp": fields["timestamp"],
        "projectId": key,
        "environment": "production",
        "sessionId": fields["sessionId"],
        "userId": fields["userId"],
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt": PROMPT,
        "response": RESPONSE,
        "promptTokens": 420,
        "completionTokens": 96,
        "totalTokens": 516,
        "duration": 812,
        "status": "success",
        "statusCode": 200,
        "error": None,
        "cost": None,
        "metadata": {"feature": "summary"},
        "streaming": False,
        "apiKeyMask": "...abcde",
    }


def otlp_body(first: int, run: str) -> tuple[bytes, list[str]]:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="bench"))
    )
    scope_spans = resource_spans.scope_spans.add()
    now_ns = time.time_ns()
    ids = []
    for index in range(first, first + BATCH):
        span = scope_spans.spans.add()
        span.trace_id = uuid.uuid4().bytes
        span.span_id = os.urandom(8)
        span.name = "chat gpt-4o-mini"
        span.start_time_unix_nano = now_ns
        span.end_time_unix_nano = now_ns + 812_000_000
        for key, value in (
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o-mini"),
            ("gen_ai.conversation.id", f"{run}-s{index % SESSIONS}"),
            ("user.id", f"{run}-u{index % USERS}"),
        ):
            span.attributes.append(
                KeyValue(key=key, value=AnyValue(string_value=value))
            )
        for key, number in (
            ("gen_ai.usage.input_tokens", 420),
            ("gen_ai.usage.output_tokens", 96),
            ("gen_ai.usage.cache_read.input_tokens", 128),
        ):
            span.attributes.append(KeyValue(key=key, value=AnyValue(int_value=number)))
        ids.append(f"{span.trace_id.hex()}-{span.span_id.hex()}")
    return request.SerializeToString(), ids


LOG_CALL = "mutation($input: LogCallInput!) { logCall(input: $input) { id } }"
LOG_CALLS = (
    "mutation($inputs: [LogCallInput!]!) { logCalls(inputs: $inputs) "
    "{ storedCount duplicateCount rejectedCount } }"
)


@dataclass
class Job:
    """One request: where, what, and the call ids it acknowledges when it succeeds."""

    path: str
    body: bytes
    headers: dict[str, str]
    ids: list[str]
    accepted: Callable[[int, bytes], bool]


def graphql_ok(expected: int) -> Callable[[int, bytes], bool]:
    def check(status: int, body: bytes) -> bool:
        answer = json.loads(body)
        if status != 200 or answer.get("errors"):
            return False
        data = answer["data"]
        if "logCalls" in data:
            return bool(data["logCalls"]["storedCount"] == expected)
        return True

    return check


def logs_ok(status: int, body: bytes) -> bool:
    return status == 200 and json.loads(body)["stored"] == BATCH


def otlp_ok(status: int, body: bytes) -> bool:
    return status == 200 and body == b""


def origin_ok(status: int, body: bytes) -> bool:
    return status == 201


def jobs_for(scenario: str, requests: int, run: str, key: str) -> list[Job]:
    bearer = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    jobs = []
    for number in range(requests):
        if scenario == "logCall":
            fields = call_fields(number, run)
            body = {"query": LOG_CALL, "variables": {"input": fields}}
            jobs.append(
                Job(
                    "/graphql",
                    json.dumps(body).encode(),
                    bearer,
                    [fields["id"]],
                    graphql_ok(1),
                )
            )
        elif scenario in ("logCalls", "v1/logs"):
            calls = [
                call_fields(number * BATCH + offset, run) for offset in range(BATCH)
            ]
            ids = [call["id"] for call in calls]
            if scenario == "logCalls":
                payload = {"query": LOG_CALLS, "variables": {"inputs": calls}}
                jobs.append(
                    Job(
                        "/graphql",
                        json.dumps(payload).encode(),
                        bearer,
                        ids,
                        graphql_ok(BATCH),
                    )
                )
            else:
                jobs.append(
                    Job(
                        "/v1/logs",
                        json.dumps({"logs": calls}).encode(),
                        bearer,
                        ids,
                        logs_ok,
                    )
                )
        elif scenario == "otlp":
            body_bytes, ids = otlp_body(number * BATCH, run)
            headers = {
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-protobuf",
            }
            jobs.append(Job("/v1/traces", body_bytes, headers, ids, otlp_ok))
        elif scenario == "api/logs":
            origin = origin_body(number, run, key)
            headers = {"Content-Type": "application/json", "X-Project-ID": key}
            jobs.append(
                Job(
                    "/api/logs",
                    json.dumps(origin).encode(),
                    headers,
                    [origin["id"]],
                    origin_ok,
                )
            )
    return jobs


# --- measuring ---------------------------------------------------------------


@dataclass
class Result:
    name: str
    concurrency: int
    events: int = 0
    failed_requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    service_cpu_ms: float = 0.0
    store_cpu_ms: float = 0.0
    acked_ids: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def service_cpu_ms_per_event(self) -> float:
        return self.service_cpu_ms / self.events if self.events else 0.0

    @property
    def store_cpu_ms_per_event(self) -> float:
        return self.store_cpu_ms / self.events if self.events else 0.0


async def run_jobs(
    name: str,
    jobs: list[Job],
    concurrency: int,
    service: Service,
    *,
    seconds: float | None = None,
) -> Result:
    """Send `jobs` with `concurrency` in flight, for at most `seconds`."""
    result = Result(name=name, concurrency=concurrency)
    queue = list(reversed(jobs))
    deadline = time.perf_counter() + seconds if seconds is not None else None

    async def worker() -> None:
        connection = Connection("127.0.0.1", service.port)
        try:
            while queue and (deadline is None or time.perf_counter() < deadline):
                job = queue.pop()
                started = time.perf_counter()
                status, body = await connection.request(job.path, job.body, job.headers)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                if job.accepted(status, body):
                    result.events += len(job.ids)
                    result.acked_ids.extend(job.ids)
                else:
                    result.failed_requests += 1
        finally:
            connection.close()

    service_before = service.cpu_ticks()
    store_before = service.cpu_ticks(service.store_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    result.service_cpu_ms = (service.cpu_ticks() - service_before) * 1000 / CLOCK_TICKS
    result.store_cpu_ms = (
        (service.cpu_ticks(service.store_pid) - store_before) * 1000 / CLOCK_TICKS
    )
    return result


def ceiling_documents(count: int, run: str) -> list[dict[str, Any]]:
    """Documents exactly as the service stores them, for the direct insert_many."""
    limits = CallLimits(
        max_string_chars=256,
        max_text_chars=32_000,
        max_tags=32,
        max_metadata_keys=64,
        max_future_skew=timedelta(minutes=5),
        store_text=True,
    )
    now = datetime.now(UTC)
    documents = []
    for index in range(count):
        call = CallIn.model_validate(call_fields(index, run))
        log = validate_call(call, project_id="bench-ceiling", limits=limits, now=now)
        price_log(log, ())
        documents.append(log.model_dump(by_alias=True))
    return documents


async def store_ceilings(
    service: Service, batches: int, run: str
) -> tuple[Result, Result]:
    """The store's own rates, straight through PyMongo, with the service's documents.

    First `insert_many` of 100 documents, 4 in flight; then, for the documents
    just inserted, the writes `apply_totals` adds per batch: the session, user,
    hourly and daily roll-up upserts, one bulk write each.
    """
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        service.store_uri, tz_aware=True
    )
    database = client["llm_dashboard"]
    # Documents are built by the service's own code, which needs Beanie bound.
    await init_beanie(database=database, document_models=ALL_DOCUMENTS)
    documents = ceiling_documents(batches * BATCH, run)
    collection = database["llm_logs"]
    chunks = [
        documents[start : start + BATCH] for start in range(0, len(documents), BATCH)
    ]
    inserted: list[list[dict[str, Any]]] = []

    async def insert(chunk: list[dict[str, Any]]) -> None:
        await collection.insert_many(chunk, ordered=False)
        inserted.append(chunk)

    async def count(chunk: list[dict[str, Any]]) -> None:
        logs = [Log.model_validate(row) for row in chunk]
        for name, updates in (
            ("llm_sessions", session_updates(logs)),
            ("llm_users", user_updates(logs)),
            ("usage_rollups_hourly", rollup_updates(logs, period=RollupPeriod.HOUR)),
            ("usage_rollups_daily", rollup_updates(logs, period=RollupPeriod.DAY)),
        ):
            if updates:
                await database[name].bulk_write(updates, ordered=False)

    inserts = await _store_rate(
        "store `insert_many` (ceiling)", chunks, insert, service
    )
    marks = await _store_rate("store totals upserts", inserted, count, service)
    await client.close()
    return inserts, marks


async def _store_rate(
    name: str,
    chunks: list[list[dict[str, Any]]],
    write: Callable[[list[dict[str, Any]]], Awaitable[None]],
    service: Service,
) -> Result:
    result = Result(name=name, concurrency=4)
    pending = list(chunks)
    deadline = time.perf_counter() + SCENARIO_SECONDS

    async def worker() -> None:
        while pending and time.perf_counter() < deadline:
            chunk = pending.pop()
            started = time.perf_counter()
            await write(chunk)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.events += len(chunk)

    store_before = service.cpu_ticks(service.store_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(4)))
    result.seconds = time.perf_counter() - started
    result.store_cpu_ms = (
        (service.cpu_ticks(service.store_pid) - store_before) * 1000 / CLOCK_TICKS
    )
    return result


async def missing_ids(service: Service, acked: list[str]) -> int:
    """How many acknowledged call ids the store does not hold."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(service.store_uri)
    collection = client["llm_dashboard"]["llm_logs"]
    cursor = collection.find({"project_id": "default"}, projection={"_id": 1})
    stored = {row["_id"] async for row in cursor}
    await client.close()
    return sum(f"default:{call_id}" not in stored for call_id in acked)


# --- the run -----------------------------------------------------------------

SCENARIO_SECONDS = 10.0
SCENARIOS: list[tuple[str, int, int]] = [
    # name, requests prepared (more than the time allows), concurrency
    ("logCall", 4000, 16),
    ("logCalls", 150, 4),
    ("v1/logs", 150, 4),
    ("otlp", 150, 4),
    ("api/logs", 4000, 16),
]
LABELS = {
    "logCall": "GraphQL `logCall` (1/request)",
    "logCalls": "GraphQL `logCalls` (100/request)",
    "v1/logs": "`POST /v1/logs` (100/request)",
    "otlp": "OTLP `POST /v1/traces` (100 spans/request)",
    "api/logs": "origin `POST /api/logs` (1/request)",
}
BATCHED = ("logCalls", "v1/logs", "otlp")


async def measure(
    service: Service,
) -> tuple[list[Result], tuple[Result, Result], int, int]:
    run = uuid.uuid4().hex[:8]
    results = []
    for name, requests, concurrency in SCENARIOS:
        warmup = jobs_for(name, 8, f"{run}-warm-{name}", service.ingest_key)
        await run_jobs(name, warmup, min(concurrency, 4), service)
        jobs = jobs_for(name, requests, f"{run}-{name}", service.ingest_key)
        result = await run_jobs(
            LABELS[name], jobs, concurrency, service, seconds=SCENARIO_SECONDS
        )
        results.append(result)
        print(
            f"{result.name}: {result.events_per_s:,.0f} events/s, "
            f"{result.service_cpu_ms_per_event:.3f} ms service CPU/event, "
            f"{result.failed_requests} failed requests",
            flush=True,
        )
    ceiling, marks = await store_ceilings(service, 40, run)
    for result in (ceiling, marks):
        print(f"{result.name}: {result.events_per_s:,.0f} events/s", flush=True)
    acked = [call_id for result in results for call_id in result.acked_ids]
    missing = await missing_ids(service, acked)
    return results, (ceiling, marks), len(acked), missing


def report(
    results: list[Result],
    baselines: tuple[Result, Result],
    acked: int,
    missing: int,
    *,
    seconds: float,
    load: tuple[float, float],
) -> str:
    by_label = {result.name: result for result in results}
    ceiling, marks = baselines
    lines = [
        "## Ingest",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/ingest.py` in {seconds:.0f} s; "
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {platform.system()}; load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end (other work shared the "
        "cores). Service: `python -m app serve` (one uvicorn process, production "
        "logging at INFO, per-key rate limit off) with the embedded store in its own "
        "child process; the load "
        f"generator runs on the same cores. Each scenario runs {SCENARIO_SECONDS:.0f} s; "
        f"calls name one of {SESSIONS} sessions and {USERS} users, so a batch of 100 "
        f"also updates {SESSIONS} session and {USERS} user totals.",
        "",
        "| route | in flight | events/s | p50 ms | p95 ms | p99 ms | service CPU ms/event | store CPU ms/event | failed requests |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in [*results, ceiling, marks]:
        service_cpu = (
            "—" if result in baselines else f"{result.service_cpu_ms_per_event:.3f}"
        )
        lines.append(
            f"| {result.name} | {result.concurrency} | {result.events_per_s:,.0f} | "
            f"{result.percentile(0.5):.1f} | {result.percentile(0.95):.1f} | "
            f"{result.percentile(0.99):.1f} | {service_cpu} | "
            f"{result.store_cpu_ms_per_event:.3f} | {result.failed_requests} |"
        )

    lines += ["", "Targets, as ratios within this run:", ""]
    for name in BATCHED:
        result = by_label[LABELS[name]]
        cpu = result.service_cpu_ms_per_event
        ratio = result.events_per_s / ceiling.events_per_s
        lines.append(
            f"- {LABELS[name]}: service CPU {cpu:.3f} ms/event "
            f"({'meets' if cpu <= 0.25 else 'misses'} ≤ 0.25); persisted "
            f"{ratio:.2f} x the `insert_many` ceiling "
            f"({'meets' if ratio >= 0.8 else 'misses'} ≥ 0.8)."
        )
    origin = by_label[LABELS["api/logs"]]
    lines.append(
        f"- {LABELS['api/logs']}: {origin.events_per_s:,.0f} events/s at 16 in flight "
        f"({'meets' if origin.events_per_s >= 300 else 'misses'} ≥ 300, the origin "
        "service on the same store)."
    )
    lines.append(
        f"- Every acknowledged call read back from the store: {acked:,} acknowledged, "
        f"{missing} missing."
    )
    logs = by_label[LABELS["v1/logs"]]
    store_ratio = logs.store_cpu_ms_per_event / ceiling.store_cpu_ms_per_event
    # What the store alone allows for an insert plus the totals of one call.
    insert_and_mark = 1 / (1 / ceiling.events_per_s + 1 / marks.events_per_s)
    lines += [
        "",
        "Where the store's time goes: a stored call costs the embedded store "
        f"{logs.store_cpu_ms_per_event:.1f} ms of CPU through `POST /v1/logs` against "
        f"{ceiling.store_cpu_ms_per_event:.1f} ms for the bare `insert_many` "
        f"({store_ratio:.1f} times). Besides its insert, every call has its share of "
        "the session, user, hourly and daily roll-up upserts (measured alone above at "
        f"{marks.events_per_s:,.0f} calls per second: the engine runs each update in "
        "its own transaction and rewrites the whole document), and each batch one "
        "insert and one delete of its `PendingTotals` marker. Insert plus totals "
        f"alone allow {insert_and_mark:,.0f} calls per second here; `POST /v1/logs` "
        f"persisted {logs.events_per_s / insert_and_mark:.2f} x that. The service "
        f"process used {logs.service_cpu_ms / logs.seconds / 10:.0f}% of a core "
        "during that scenario and the store process "
        f"{logs.store_cpu_ms / logs.seconds / 10:.0f}%: the persisted rate follows "
        "the store's write cost, not the service's. The 0.8 x `insert_many` target "
        "cannot be met on this engine while the totals cost it more than the insert; "
        "updates committed together (as its inserts now are) are the next step, and "
        "MongoDB does not have this cost.",
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    pattern = re.compile(r"^## Ingest\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    work_dir = Path(tempfile.mkdtemp(prefix="llmd-bench-"))
    service = start_service(work_dir)
    try:
        results, baselines, acked, missing = asyncio.run(measure(service))
    finally:
        stop_service(service)
        shutil.rmtree(work_dir, ignore_errors=True)
    section = report(
        results,
        baselines,
        acked,
        missing,
        seconds=time.perf_counter() - started,
        load=(load_before, os.getloadavg()[0]),
    )
    print()
    print(section)
    if args.write:
        write_section(section)


if __name__ == "__main__":
    main()
