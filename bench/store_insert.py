"""What writes cost on the embedded store as `llm_logs` grows, with and without our patches.

Run by hand: `make bench` (or `.venv/bin/python bench/store_insert.py`); about
four minutes. It serves one SQLite store over the wire protocol in this
process, loads documents shaped like our calls (string `_id`s, the three
`llm_logs` indexes) in 1,000-document batches, and at 1k, 10k and 50k documents
times, through pymongo exactly as the service writes:

- one `insert_one` of a new call: upstream mongoeco 4.11.0 vs. all patches;
- one `insert_many` of 1,000 new calls: patch 1 alone (upstream's one-document
  loop; with no patch at all it would take about 20 minutes at 50k) vs. all patches;
- one upsert (`bulk_write` of one `UpdateOne(..., upsert=True)`, shaped like the
  session totals) that creates a document, and one that updates an existing
  one: upstream vs. patch 1 alone vs. all patches.

The variants alternate sample by sample, so load from other processes falls on
both alike. It prints Markdown for bench/RESULTS.md on stdout, progress on stderr.
"""

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from app.store import patches

SIZES = (1_000, 10_000, 50_000)
BATCH = 1_000

type Collection = AsyncCollection[dict[str, Any]]
type Write = Callable[[], Awaitable[object]]


def call_document(index: int) -> dict[str, object]:
    call_id = str(uuid.uuid4())
    return {
        "_id": f"bench:{call_id}",
        "call_id": call_id,
        "project_id": "bench",
        "timestamp": datetime.now(UTC),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "session_id": f"s-{index % 500}",
        "user_id": f"u-{index % 200}",
        "prompt_tokens": 100 + index % 50,
        "completion_tokens": 20,
        "duration_ms": 350.0,
        "status": "success",
        "totals_batch": None,
    }


def calls(count: int) -> list[dict[str, object]]:
    return [call_document(index) for index in range(count)]


def upsert(key: str) -> UpdateOne:
    return UpdateOne(
        {"_id": key},
        {
            "$setOnInsert": {"project_id": "bench", "status": "active"},
            "$inc": {"call_count": 1, "total_tokens": 120},
            "$max": {"last_activity_at": datetime.now(UTC)},
        },
        upsert=True,
    )


def use(variant: str) -> None:
    """'upstream': no patch; 'id scan only': patch 1; 'patched': all patches."""
    patches.remove_store_patches()
    if variant == "id scan only":
        patches.patch_sqlite_id_scan()
    elif variant == "patched":
        patches.install_store_patches()


async def timed(write: Write) -> tuple[float, float]:
    """Wall and CPU seconds of one write (server and client share this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    await write()
    return time.perf_counter() - wall, time.process_time() - cpu


async def compare(
    samples: dict[str, int], make_write: Callable[[], Write]
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of one write per variant, samples interleaved."""
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in samples}
    for index in range(max(samples.values())):
        for variant, count in samples.items():
            if index < count:
                use(variant)
                timings[variant].append(await timed(make_write()))
    use("patched")
    return {
        variant: (
            statistics.median(wall for wall, _ in values),
            statistics.median(cpu for _, cpu in values),
        )
        for variant, values in timings.items()
    }


async def measure(collection: Collection, existing: list[str]) -> dict[str, Any]:
    keys = iter(existing * 3)
    return {
        "one": await compare(
            {"upstream": 5, "patched": 30},
            lambda: lambda: collection.insert_one(call_document(0)),
        ),
        "many": await compare(
            {"id scan only": 3, "patched": 3},
            lambda: lambda: collection.insert_many(calls(BATCH), ordered=False),
        ),
        "created": await compare(
            {"upstream": 5, "id scan only": 10, "patched": 30},
            lambda: (
                lambda: collection.bulk_write(
                    [upsert(f"bench:session-{uuid.uuid4()}")], ordered=False
                )
            ),
        ),
        "updated": await compare(
            {"upstream": 30, "id scan only": 30, "patched": 30},
            lambda: lambda: collection.bulk_write([upsert(next(keys))], ordered=False),
        ),
    }


async def run() -> tuple[list[tuple[int, dict[str, Any]]], float]:
    rows = []
    started = time.perf_counter()
    use("patched")
    with tempfile.TemporaryDirectory() as folder:
        engine = SQLiteEngine(
            str(Path(folder) / "bench.sqlite"), aggregation_materialization_limit=None
        )
        server = AsyncMongoEcoProxyServer(engine=engine)
        address = await server.start()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(address.uri)
        collection = client["bench"]["llm_logs"]
        await collection.create_indexes(
            [
                IndexModel([("project_id", 1), ("timestamp", -1)]),
                IndexModel([("project_id", 1), ("session_id", 1), ("timestamp", 1)]),
                IndexModel([("project_id", 1), ("user_id", 1), ("timestamp", -1)]),
            ]
        )
        existing: list[str] = []
        for size in SIZES:
            while (count := await collection.estimated_document_count()) < size:
                batch = calls(min(BATCH, size - count))
                await collection.insert_many(batch, ordered=False)
                existing = [str(document["_id"]) for document in batch[:30]]
            result = await measure(collection, existing)
            rows.append((size, result))
            print(f"{size:,}: {result}", file=sys.stderr)
        await client.close()
        try:
            await server.close()
        except Exception as error:
            # Upstream's slow paths (an `_id` scan of 50k documents inside a write)
            # can hold SQLite's lock past the 5 s its background heartbeat waits;
            # the heartbeat's "database is locked" surfaces here, after measuring.
            print(f"warning: store cleanup failed: {error!r}", file=sys.stderr)
    return rows, time.perf_counter() - started


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:.1f}×"  # noqa: RUF001 - the sign reads as "times"


def milliseconds(timing: tuple[float, float]) -> str:
    return f"{timing[0] * 1e3:,.1f}"


def report(rows: list[tuple[int, dict[str, Any]]], elapsed: float) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"## Store inserts ({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load} at the end, {elapsed:.0f} s)"
    )
    print()
    print("Writes through the wire protocol into `llm_logs` (three secondary indexes)")
    print("at each collection size; medians of interleaved samples, wall clock unless")
    print(
        "marked CPU (this process's CPU time: server and client, not other processes)."
    )
    print()
    print("| documents | `insert_one` upstream ms | patched ms | speed-up |")
    print("| ---: | ---: | ---: | ---: |")
    for size, result in rows:
        slow, fast = result["one"]["upstream"], result["one"]["patched"]
        print(
            f"| {size:,} | {milliseconds(slow)} | {fast[0] * 1e3:.2f} | "
            f"{ratio(slow[0], fast[0])} |"
        )
    print()
    print(
        "| documents | `insert_many` of 1,000, patch 1 only docs/s | patched docs/s "
        "| speed-up | patch 1 only CPU docs/s | patched CPU docs/s |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, result in rows:
        slow, fast = result["many"]["id scan only"], result["many"]["patched"]
        print(
            f"| {size:,} | {BATCH / slow[0]:,.0f} | {BATCH / fast[0]:,.0f} | "
            f"{ratio(slow[0], fast[0])} | {BATCH / slow[1]:,.0f} | {BATCH / fast[1]:,.0f} |"
        )
    print()
    print(
        "| documents | upsert creates: upstream ms | patch 1 only ms | patched ms "
        "| speed-up vs. patch 1 | upsert updates: upstream ms | patch 1 only ms | patched ms |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, result in rows:
        new, old = result["created"], result["updated"]
        print(
            f"| {size:,} | {milliseconds(new['upstream'])} | "
            f"{milliseconds(new['id scan only'])} | {milliseconds(new['patched'])} | "
            f"{ratio(new['id scan only'][0], new['patched'][0])} | "
            f"{milliseconds(old['upstream'])} | {milliseconds(old['id scan only'])} | "
            f"{milliseconds(old['patched'])} |"
        )


if __name__ == "__main__":
    report(*asyncio.run(run()))
