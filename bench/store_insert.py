"""How much one insert costs on the embedded store as `llm_logs` grows.

Run by hand: `make bench` (or `.venv/bin/python bench/store_insert.py`). For each
collection size it loads documents shaped like our calls (string `_id`s, the
three `llm_logs` indexes), then times single inserts through the wire protocol,
exactly as the service does, with upstream's behaviour and with the fix in
app/store/patches.py. Prints a Markdown table for bench/RESULTS.md.
"""

import asyncio
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient, IndexModel

from app.store import patches

SIZES = (1_000, 10_000, 50_000)
PATCHED_SAMPLES = 50
UNPATCHED_SAMPLES = 5
LOAD_BATCH = 1_000


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
        "totals_applied": True,
    }


async def time_inserts(collection: object, samples: int) -> float:
    """Median milliseconds of one `insert_one` of a new call."""
    timings = []
    for index in range(samples):
        started = time.perf_counter()
        await collection.insert_one(call_document(index))  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def main() -> None:
    patches.patch_sqlite_id_scan()
    patched = SQLiteEngine._validate_document_against_unique_indexes
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        engine = SQLiteEngine(str(Path(folder) / "bench.sqlite"), aggregation_materialization_limit=None)
        server = AsyncMongoEcoProxyServer(engine=engine)
        address = await server.start()
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(address.uri)
        collection = client["bench"]["llm_logs"]
        await collection.create_indexes(
            [
                IndexModel([("project_id", 1), ("timestamp", -1)]),
                IndexModel([("project_id", 1), ("session_id", 1), ("timestamp", 1)]),
                IndexModel([("project_id", 1), ("user_id", 1), ("timestamp", -1)]),
            ]
        )
        loaded = 0
        for size in SIZES:
            load_started = time.perf_counter()
            while loaded < size:
                batch = [call_document(loaded + i) for i in range(min(LOAD_BATCH, size - loaded))]
                await collection.insert_many(batch, ordered=False)
                loaded += len(batch)
            load_s = time.perf_counter() - load_started
            with_fix = await time_inserts(collection, PATCHED_SAMPLES)
            SQLiteEngine._validate_document_against_unique_indexes = patches._ORIGINAL  # type: ignore[method-assign]
            upstream = await time_inserts(collection, UNPATCHED_SAMPLES)
            SQLiteEngine._validate_document_against_unique_indexes = patched  # type: ignore[method-assign]
            loaded += PATCHED_SAMPLES + UNPATCHED_SAMPLES
            rows.append((size, upstream, with_fix, load_s))
            print(f"{size}: upstream {upstream:.1f} ms, fixed {with_fix:.2f} ms", file=sys.stderr)
        await client.close()
        await server.close()

    print(f"## Store inserts ({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, 2 cores)")
    print()
    print("Median time of one `insert_one` through the wire protocol into `llm_logs`")
    print("(three secondary indexes), upstream mongoeco 4.11.0 vs. with app/store/patches.py.")
    print()
    print("| documents | upstream ms | with fix ms | speed-up | bulk load docs/s |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    previous = 0
    for size, upstream, with_fix, load_s in rows:
        rate = (size - previous) / load_s
        previous = size
        print(f"| {size:,} | {upstream:.1f} | {with_fix:.2f} | {upstream / with_fix:.0f}× | {rate:,.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
