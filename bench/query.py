"""Query benchmark: the dashboard request from roll-ups against raw aggregation.

Loads generated calls (default 100k over 30 days, `bench/dataset.py`) into a
fresh embedded store, builds their hourly and daily roll-ups, then times in one
run, through the real GraphQL app:

- the dashboard request of the README (one request, aliases), from roll-ups;
- each of its aggregates alone, from roll-ups;
- the dashboard request right after an ingested call (the store re-plans reads
  of a collection after each write to it, which is what a live dashboard sees);
- the same dashboard and aggregates answered from raw calls
  (`LLMD_USAGE_FORCE_RAW`), and whether both answers agree.

Documents examined are counted by the usage reader (`ReadStats`): roll-up
documents returned by the roll-up match and raw calls matched by the raw
aggregation. The embedded store's `explain` has no `executionStats`, so these
counts stand in for MongoDB's `totalDocsExamined` with the `project_time` and
`project_hour`/`project_day` indexes. Timings print as a Markdown table.

Usage: `.venv/bin/python bench/query.py [--calls N] [--fresh] [--rollup-runs N]`.
The loaded store is kept in `bench/out/` and reused by later runs with the same
parameters unless `--fresh` is given; the load time of the run that built it is
reported either way.
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.documents import (  # noqa: E402
    CallError,
    DailyUsageRollup,
    Log,
    Project,
    UsageRollup,
)
from app.main import create_app  # noqa: E402
from app.pipelines.rollup import RollupPeriod, rollup_updates  # noqa: E402
from app.pipelines.timebuckets import Granularity  # noqa: E402
from app.pipelines.usage import UsageFilter  # noqa: E402
from app.pipelines.usage_rows import Grouping  # noqa: E402
from app.services.keys import issue_key  # noqa: E402
from app.services.usage import UsageReader, summarize_usage  # noqa: E402
from app.services.usage_breakdown import UsageOrder, break_down_usage  # noqa: E402
from app.services.usage_errors import break_down_errors  # noqa: E402
from app.services.usage_timeseries import usage_time_series  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.store.embedded import EmbeddedStore  # noqa: E402
from bench.dataset import DatasetShape, default_end, generate  # noqa: E402

OUT = ROOT / "bench" / "out"
INSERT_BATCH = 5000

DASHBOARD = """
query Dashboard($window: UsageFilterInput!, $trend: UsageFilterInput!) {
  totals: usageSummary(filter: $window) {
    calls successes errors errorRate promptTokens completionTokens totalTokens
    costUsd avgCostUsd unpricedCalls latencyAvgMs latencyP50Ms latencyP95Ms
    latencyP99Ms ttftP50Ms
  }
  trend: usageTimeSeries(filter: $trend, granularity: DAY, timeZone: "UTC") {
    series { points { start calls successes errors costUsd totalTokens } }
  }
  latencyTrend: usageTimeSeries(filter: $window, granularity: DAY, timeZone: "UTC") {
    series { points { start latencyAvgMs latencyP95Ms } }
  }
  errors: errorBreakdown(filter: $window, limit: 5) {
    errors groups { statusCode errorType errors shareOfErrors latestCallId }
  }
  topModels: usageBreakdown(filter: $window, groupBy: [MODEL], limit: 5) {
    groups { group { value } isOther calls errorRate latencyAvgMs }
  }
  costByModel: usageBreakdown(
    filter: $window, groupBy: [MODEL], orderBy: COST_USD, limit: 5
  ) {
    groups { group { value } isOther costUsd totalTokens }
  }
  byProvider: usageBreakdown(filter: $window, groupBy: [PROVIDER], limit: 5) {
    groups { group { value } isOther calls costUsd }
  }
}
"""


@dataclass(frozen=True)
class Windows:
    """The dashboard's 30-day window and its 14-day trend, ending at `end`."""

    project_id: str
    end: datetime

    def usage_filter(self, days: int) -> UsageFilter:
        return UsageFilter(
            project_id=self.project_id,
            start=self.end - timedelta(days=days),
            end=self.end,
        )

    def variables(self) -> dict[str, Any]:
        def window(days: int) -> dict[str, str]:
            return {
                "start": (self.end - timedelta(days=days)).isoformat(),
                "end": self.end.isoformat(),
            }

        return {"window": window(30), "trend": window(14)}


def aggregates(windows: Windows) -> dict[str, Callable[[UsageReader], Awaitable[Any]]]:
    """Each aggregate of the dashboard as a service call, by its alias."""
    month, fortnight = windows.usage_filter(30), windows.usage_filter(14)
    return {
        "totals": lambda reader: summarize_usage(reader, month),
        "trend": lambda reader: usage_time_series(
            reader, fortnight, granularity=Granularity.DAY, with_percentiles=False
        ),
        "latencyTrend": lambda reader: usage_time_series(
            reader, month, granularity=Granularity.DAY
        ),
        "errors": lambda reader: break_down_errors(reader, month, limit=5),
        "topModels": lambda reader: break_down_usage(
            reader, month, Grouping(("model",)), limit=5, with_percentiles=False
        ),
        "costByModel": lambda reader: break_down_usage(
            reader,
            month,
            Grouping(("model",)),
            order_by=UsageOrder.COST_USD,
            limit=5,
            with_percentiles=False,
        ),
        "byProvider": lambda reader: break_down_usage(
            reader, month, Grouping(("provider",)), limit=5, with_percentiles=False
        ),
    }


def alias_query(alias: str) -> str:
    """The dashboard request cut down to one alias."""
    lines = DASHBOARD.strip().splitlines()
    body, depth, keep = [], 0, False
    for line in lines[1:-1]:
        if depth == 0:
            keep = line.strip().startswith(f"{alias}:")
        if keep:
            body.append(line)
        depth += line.count("{") - line.count("}") + line.count("(") - line.count(")")
    used = [name for name in ("window", "trend") if f"${name}" in "\n".join(body)]
    header = ", ".join(f"${name}: UsageFilterInput!" for name in used)
    return "\n".join([f"query Alone({header}) {{", *body, "}"])


def materialize(updates: Iterable[Any]) -> list[dict[str, Any]]:
    """The documents a set of first upserts (one per key) would create."""
    documents = []
    for update in updates:
        spec = update._doc
        document: dict[str, Any] = {
            "_id": update._filter["_id"],
            **spec["$setOnInsert"],
        }
        for path, amount in spec["$inc"].items():
            *parents, leaf = path.split(".")
            target = document
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = amount
        document.update(spec.get("$max", {}))
        documents.append(document)
    return documents


async def load(shape: DatasetShape) -> dict[str, Any]:
    """Store the project with a read and an ingest key, the calls and their roll-ups.

    Calls go in with `insert_many` in batches; roll-ups are computed for the
    whole load at once with the ingest path's own `rollup_updates` and stored
    as the documents those upserts would create.
    """
    now = datetime.now(UTC)
    reader = issue_key("bench-read", ["read"], now=now)
    ingest = issue_key("bench-ingest", ["ingest"], now=now)
    await Project(
        _id=shape.project_id,
        name="bench",
        created_at=now,
        api_keys=[reader.api_key, ingest.api_key],
    ).insert()
    report: dict[str, Any] = {"reader": reader.secret, "ingest": ingest.secret}

    documents = list(generate(shape))
    started = time.perf_counter()
    collection = Log.get_pymongo_collection()
    for offset in range(0, len(documents), INSERT_BATCH):
        batch = documents[offset : offset + INSERT_BATCH]
        await collection.insert_many(batch, ordered=False)
        done = offset + len(batch)
        print(f"  stored {done:>9,} calls", file=sys.stderr, flush=True)
    report["calls_load_s"] = time.perf_counter() - started

    logs = [
        Log.model_construct(
            **(
                doc
                | {
                    "id": doc["_id"],
                    "error": CallError(**doc["error"]) if doc["error"] else None,
                }
            )
        )
        for doc in documents
    ]
    for period, document in (
        (RollupPeriod.HOUR, UsageRollup),
        (RollupPeriod.DAY, DailyUsageRollup),
    ):
        started = time.perf_counter()
        rollups = materialize(rollup_updates(logs, period=period))
        target = document.get_pymongo_collection()
        for offset in range(0, len(rollups), INSERT_BATCH):
            await target.insert_many(rollups[offset : offset + INSERT_BATCH])
        report[f"{period.collection}_load_s"] = time.perf_counter() - started
        report[f"{period.collection}_documents"] = len(rollups)
    return report


@dataclass
class Timing:
    """Wall-clock milliseconds of repeated runs of one measurement."""

    runs_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


async def timed(run: Callable[[], Awaitable[Any]], repeats: int) -> tuple[Timing, Any]:
    runs, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = await run()
        runs.append((time.perf_counter() - started) * 1000)
    return Timing(runs), result


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], key: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=httpx.Timeout(3600),
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"the request failed: {body['errors']}")
    data: dict[str, Any] = body["data"]
    return data


def agree(rollups: Any, raw: Any, path: str = "") -> list[str]:
    """Differences between two answers: exact, except percentiles within 1%."""
    if isinstance(rollups, dict) and isinstance(raw, dict):
        problems = []
        for key in rollups.keys() | raw.keys():
            problems += agree(rollups.get(key), raw.get(key), f"{path}.{key}")
        return problems
    if isinstance(rollups, list) and isinstance(raw, list):
        if len(rollups) != len(raw):
            return [f"{path}: {len(rollups)} items against {len(raw)}"]
        problems = []
        for index, (left, right) in enumerate(zip(rollups, raw, strict=True)):
            problems += agree(left, right, f"{path}[{index}]")
        return problems
    if isinstance(rollups, float) and isinstance(raw, float):
        percentile = "P50" in path or "P9" in path
        tolerance = 0.01 * abs(raw) if percentile else 1e-9 * max(1.0, abs(raw))
        return (
            [] if abs(rollups - raw) <= tolerance else [f"{path}: {rollups} != {raw}"]
        )
    return [] if rollups == raw else [f"{path}: {rollups!r} != {raw!r}"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


async def dashboard_by_services(
    services: dict[str, Callable[[UsageReader], Awaitable[Any]]], reader: UsageReader
) -> dict[str, Any]:
    """Every aggregate at once with one reader, as the GraphQL request runs them."""
    results = await asyncio.gather(*(service(reader) for service in services.values()))
    return dict(zip(services, results, strict=True))


def plain(value: Any) -> Any:
    """Service results as nested dicts and lists, to compare two answers."""
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if hasattr(value, "__dataclass_fields__"):
        return {
            name: plain(getattr(value, name)) for name in value.__dataclass_fields__
        }
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def measure(args: argparse.Namespace) -> None:
    shape = DatasetShape(calls=args.calls, days=30, end=default_end())
    data_dir = OUT / f"query-store-{shape.calls}-{shape.days}d-seed{shape.seed}"
    marker = data_dir / "loaded.json"
    if data_dir.exists() and (args.fresh or not marker.exists()):
        shutil.rmtree(data_dir)
    fresh = not marker.exists()

    store = EmbeddedStore(data_dir)
    await store.start()
    settings = Settings(
        environment="production",
        mongodb_uri=store.uri,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        database_name="bench",
        data_dir=data_dir,
        log_level="WARNING",
        # A raw aggregation over 100k calls keeps the embedded store busy for
        # longer than the default 3 s, which would count as the store being down.
        store_timeout_ms=60_000,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            if fresh:
                print(f"loading {shape.calls:,} calls", file=sys.stderr)
                marker.write_text(json.dumps(await load(shape)))
            loaded = json.loads(marker.read_text())
            results = await run_queries(args, shape, loaded, app)
    finally:
        await store.stop()
    print(report(args, shape, loaded, fresh, results))


async def run_queries(
    args: argparse.Namespace, shape: DatasetShape, loaded: dict[str, Any], app: Any
) -> dict[str, Any]:
    windows = Windows(shape.project_id, shape.end)
    variables = windows.variables()
    reader_key, ingest_key = loaded["reader"], loaded["ingest"]
    services = aggregates(windows)
    results: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:

        async def request(query: str, key: str = reader_key) -> dict[str, Any]:
            return await graphql(client, query, variables, key)

        print("roll-ups: first dashboard request after the load", file=sys.stderr)
        results["cold"], _ = await timed(lambda: request(DASHBOARD), 1)

        print("roll-ups: dashboard request and each aggregate alone", file=sys.stderr)
        results["dashboard"], _ = await timed(lambda: request(DASHBOARD), args.runs)
        results["alone"] = {}
        for alias in services:
            query = alias_query(alias)
            results["alone"][alias], _ = await timed(
                lambda q=query: request(q), args.runs
            )

        print(
            "roll-ups: dashboard request right after an ingested call", file=sys.stderr
        )
        record = "mutation R($input: LogCallInput!) { logCall(input: $input) { id } }"
        runs = []
        for serial in range(args.runs):
            call = {
                "id": f"live-{serial}-{time.time_ns()}",
                "timestamp": (shape.end - timedelta(minutes=5)).isoformat(),
                "provider": "openai",
                "model": "gpt-4o-mini",
                "durationMs": 640.0,
                "costUsd": 0.001,
            }
            await graphql(client, record, {"input": call}, ingest_key)
            timing, _ = await timed(lambda: request(DASHBOARD), 1)
            runs += timing.runs_ms
        results["after_write"] = Timing(runs)

    # Documents examined, and the answers to compare, from the same services
    # the resolvers call (a GraphQL request keeps its reader to itself).
    results["examined_alone"] = {}
    for alias, service in services.items():
        reader = UsageReader()
        await service(reader)
        results["examined_alone"][alias] = reader.stats
    reader = UsageReader()
    results["services"], rollup_answer = await timed(
        lambda: dashboard_by_services(services, reader), 1
    )
    results["examined_dashboard"] = reader.stats

    print("raw: the whole dashboard (minutes)", file=sys.stderr)
    raw_reader = UsageReader(force_raw=True)
    results["raw_dashboard"], raw_answer = await timed(
        lambda: dashboard_by_services(services, raw_reader), 1
    )
    results["raw_examined_dashboard"] = raw_reader.stats
    results["raw_alone"], results["raw_examined_alone"] = {}, {}
    if args.raw_each:
        for alias, service in services.items():
            print(f"raw: {alias}", file=sys.stderr)
            reader = UsageReader(force_raw=True)
            results["raw_alone"][alias], _ = await timed(
                lambda s=service, r=reader: s(r), 1
            )
            results["raw_examined_alone"][alias] = reader.stats
    results["disagreements"] = agree(plain(rollup_answer), plain(raw_answer))
    return results


def report(
    args: argparse.Namespace,
    shape: DatasetShape,
    loaded: dict[str, Any],
    fresh: bool,
    results: dict[str, Any],
) -> str:
    def ms(timing: Timing | None) -> str:
        return f"{timing.median_ms:,.0f}" if timing is not None else "not run"

    def examined(stats: Any) -> int:
        return int(stats.rollup_documents + stats.raw_calls)

    def ratio(slow: Timing | None, fast: Timing) -> str:
        return f"{slow.median_ms / fast.median_ms:,.0f}x" if slow is not None else ""

    def share(part: Any, whole: Any) -> str:
        if whole is None or not examined(whole):
            return ""
        return f"{100 * examined(part) / examined(whole):.2f} %"

    hourly = loaded["usage_rollups_hourly_documents"]
    daily = loaded["usage_rollups_daily_documents"]
    lines = [
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}",
        f"Store: embedded (mongoeco {mongoeco_version()}), {shape.calls:,} calls over "
        f"{shape.days} days, {hourly:,} hourly and {daily:,} daily roll-ups.",
        f"Load ({'this run' if fresh else 'the run that built the cached store'}): "
        f"calls {loaded['calls_load_s']:,.0f} s with insert_many of {INSERT_BATCH:,}, "
        f"hourly roll-ups {loaded['usage_rollups_hourly_load_s']:,.1f} s, "
        f"daily roll-ups {loaded['usage_rollups_daily_load_s']:,.1f} s.",
        f"Roll-up timings are medians of {args.runs} runs through GraphQL; raw "
        "timings are single runs of the same service calls with a raw-only reader.",
        "",
        "| query | roll-ups ms | raw ms | raw / roll-ups | docs examined (roll-ups) | docs examined (raw) | share |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    dashboard = results["dashboard"]
    lines.append(
        f"| dashboard request (7 aliases) | {ms(dashboard)} | {ms(results['raw_dashboard'])} "
        f"| {ratio(results['raw_dashboard'], dashboard)} "
        f"| {examined(results['examined_dashboard']):,} "
        f"| {examined(results['raw_examined_dashboard']):,} "
        f"| {share(results['examined_dashboard'], results['raw_examined_dashboard'])} |"
    )
    for alias, timing in results["alone"].items():
        raw = results["raw_alone"].get(alias)
        raw_stats = results["raw_examined_alone"].get(alias)
        lines.append(
            f"| {alias} alone | {ms(timing)} | {ms(raw)} | {ratio(raw, timing)} "
            f"| {examined(results['examined_alone'][alias]):,} "
            f"| {f'{examined(raw_stats):,}' if raw_stats else 'not run'} "
            f"| {share(results['examined_alone'][alias], raw_stats)} |"
        )
    lines += [
        "",
        f"- First dashboard request after the load: {ms(results['cold'])} ms.",
        f"- Dashboard request right after an ingested call: {ms(results['after_write'])} ms "
        f"(median of {len(results['after_write'].runs_ms)}).",
        f"- Dashboard by service calls (no GraphQL): {ms(results['services'])} ms.",
        "- Roll-up and raw answers agree (sums exact, percentiles within 1 %): "
        + (
            "yes."
            if not results["disagreements"]
            else f"NO: {results['disagreements'][:5]}"
        ),
    ]
    return "\n".join(lines)


def mongoeco_version() -> str:
    from mongoeco import __version__

    return str(__version__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument(
        "--runs", type=int, default=5, help="repeats of roll-up timings"
    )
    parser.add_argument("--fresh", action="store_true", help="reload the store")
    parser.add_argument(
        "--no-raw-each",
        dest="raw_each",
        action="store_false",
        help="skip timing each aggregate alone from raw calls",
    )
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
