"""Usage analytics: read usage rows from roll-ups or raw calls, and summarize them.

Every aggregate (summary, breakdown, time series, errors) asks a `UsageReader`
for rows and folds them. The reader decides where rows come from
(`app.pipelines.usage.usage_sources`) and remembers what it read for the rest
of the request, so a dashboard asking for several aggregates of the same
window reads the roll-ups once.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from app.documents import Log
from app.documents.rollup import DailyUsageRollup, UsageRollup
from app.errors import InvalidInput
from app.pipelines import Pipeline
from app.pipelines.rollup import RollupPeriod
from app.pipelines.usage import (
    TimeRange,
    UsageFilter,
    UsageSources,
    covered_by_rollups,
    distinct_count_pipeline,
    rollup_match_stage,
    rollup_narrowing,
    usage_sources,
)
from app.pipelines.usage_measures import UsageSummary, summarize, total_of
from app.pipelines.usage_rows import (
    NO_GROUPING,
    Grouping,
    RollupRecord,
    UsageRow,
    raw_rows_pipeline,
    rollup_records,
    rows_from_raw,
    rows_from_rollups,
)
from app.services.rollup_cache import RollupCache, day_key, day_versions
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)

# The longest range a summary, breakdown or error breakdown may cover; time
# series have their own limits per granularity (`timebuckets.MAX_SPAN`).
MAX_SUMMARY_SPAN = timedelta(days=731)

_HOUR_MS = 3_600_000
# Slot widths for raw rows, widest first: a slot must never straddle a bucket
# boundary, and zones such as Asia/Kolkata or Asia/Kathmandu put local
# midnight at :30 or :45 past a UTC hour.
_RAW_SLOTS_MS = (_HOUR_MS, 1_800_000, 900_000, 60_000, 1_000)

_ROLLUP_DOCUMENTS = {
    RollupPeriod.HOUR: UsageRollup,
    RollupPeriod.DAY: DailyUsageRollup,
}


def check_summary_span(usage_filter: UsageFilter) -> None:
    """Refuse a range longer than `MAX_SUMMARY_SPAN`.

    Raises:
        InvalidInput: the range is too long; the message says how to fix it.
    """
    if usage_filter.end - usage_filter.start > MAX_SUMMARY_SPAN:
        message = (
            f"a usage range may span at most {MAX_SUMMARY_SPAN.days} days; "
            "narrow filter.start and filter.end"
        )
        raise InvalidInput(message, field="filter.start")


@dataclass(frozen=True)
class UsageQuery:
    """Which rows an aggregate needs.

    `bucket_starts` are the UTC starts of the time buckets rows must not
    straddle (None: the aggregate has no time buckets). Histograms are only
    read when a percentile is asked for.
    """

    usage_filter: UsageFilter
    grouping: Grouping = NO_GROUPING
    bucket_starts: tuple[datetime, ...] | None = None
    with_histograms: bool = True


@dataclass
class ReadStats:
    """What a reader took from the store: queries, roll-up documents, raw calls.

    `raw_calls` is the number of calls raw aggregations matched (the documents
    they examined, given an index on project and time); with TAG grouping a
    call counts once per tag. `cached_rollup_documents` were served from the
    process's `RollupCache` without a read.
    """

    queries: int = 0
    rollup_documents: int = 0
    cached_rollup_documents: int = 0
    raw_calls: int = 0


class UsageReader:
    """Reads usage rows for one request, reading each source at most once.

    `force_raw` answers everything from raw calls: for benchmarks and for
    checking that roll-ups and raw calls agree. It changes speed, not answers.
    """

    def __init__(
        self, *, force_raw: bool = False, cache: RollupCache | None = None
    ) -> None:
        self.force_raw = force_raw
        self.stats = ReadStats()
        self._cache = cache
        self._versions: dict[str, asyncio.Task[dict[str, int]]] = {}
        self._reads: dict[str, asyncio.Task[list[dict[str, Any]]]] = {}
        self._rollup_reads: dict[str, list[_RollupRead]] = {}
        # Keyed by the identity of a list of documents read, which the value
        # keeps alive so that the identity cannot be reused.
        self._records: dict[
            tuple[int, bool], tuple[list[dict[str, Any]], list[RollupRecord]]
        ] = {}

    def sources(self, query: UsageQuery) -> UsageSources:
        """Where the rows of `query` come from."""
        covered = not self.force_raw and covered_by_rollups(
            query.usage_filter,
            query.grouping.dimensions,
            bucket_starts=query.bucket_starts or (),
        )
        return usage_sources(
            query.usage_filter, covered=covered, bucket_starts=query.bucket_starts
        )

    async def rows(self, query: UsageQuery) -> list[UsageRow]:
        """The rows of `query`: roll-ups for whole periods, raw calls for the rest."""
        sources = self.sources(query)
        usage_filter = query.usage_filter
        reads: list[Awaitable[list[UsageRow]]] = []
        for period, ranges in (
            (RollupPeriod.DAY, sources.daily),
            (RollupPeriod.HOUR, sources.hourly),
        ):
            if ranges:
                reads.append(self._rollup_rows(period, ranges, query))
        if sources.raw:
            pipeline = raw_rows_pipeline(
                usage_filter,
                query.grouping,
                ranges=sources.raw,
                slot_ms=_raw_slot_ms(query.bucket_starts),
                with_histograms=query.with_histograms,
            )
            reads.append(self._raw_rows(pipeline, query))

        rows: list[UsageRow] = []
        for part in await asyncio.gather(*reads):
            rows.extend(part)
        return rows

    async def _rollup_rows(
        self, period: RollupPeriod, ranges: tuple[TimeRange, ...], query: UsageQuery
    ) -> list[UsageRow]:
        documents = await self._rollup_documents(period, ranges, query.usage_filter)
        # Several aggregates of one request read the same documents: read the
        # totals of each document once (with histograms, or without when no
        # aggregate asks for a percentile).
        key = (id(documents), query.with_histograms)
        cached = self._records.get(key)
        if cached is None:
            records = rollup_records(
                documents,
                time_field=period.time_field,
                with_histograms=query.with_histograms,
            )
            self._records[key] = (documents, records)
        else:
            records = cached[1]
        return rows_from_rollups(records, query.grouping)

    async def _rollup_documents(
        self,
        period: RollupPeriod,
        ranges: tuple[TimeRange, ...],
        usage_filter: UsageFilter,
    ) -> list[dict[str, Any]]:
        # Roll-ups read for a range also serve any range inside it with the
        # same narrowing: a dashboard's 14-day trend reuses its 30-day read.
        narrowing = rollup_narrowing(usage_filter)
        key = f"{period.collection}:{usage_filter.project_id}:{_canonical(narrowing)}"
        reads = self._rollup_reads.setdefault(key, [])
        for earlier in reads:
            if all(_inside(wanted, earlier.ranges) for wanted in ranges):
                documents = await asyncio.shield(earlier.task)
                if earlier.ranges == ranges:
                    return documents
                return [
                    document
                    for document in documents
                    if any(
                        start <= _utc(document[period.time_field]) < end
                        for start, end in ranges
                    )
                ]

        async def read() -> list[dict[str, Any]]:
            units = _whole_units(ranges, period)
            if units is not None and self._cache is not None:
                return await self._cached_units(period, units, usage_filter, narrowing)
            return await self._find_rollups(period, usage_filter, ranges)

        self.stats.queries += 1
        task = asyncio.ensure_future(_guarded(read))
        reads.append(_RollupRead(ranges, task))
        return await asyncio.shield(task)

    async def _cached_units(
        self,
        period: RollupPeriod,
        units: list[datetime],
        usage_filter: UsageFilter,
        narrowing: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Roll-ups of `units` (days or hours), from memory where their day is unchanged."""
        assert self._cache is not None
        project_id = usage_filter.project_id
        task = self._versions.get(project_id)
        if task is None:
            task = asyncio.ensure_future(day_versions(project_id))
            self._versions[project_id] = task
        versions = await asyncio.shield(task)
        narrowing_key = _canonical(narrowing)
        step = _UNIT[period]

        def key(unit: datetime) -> tuple[str, str, str]:
            return (
                project_id,
                narrowing_key,
                f"{period.time_field}:{unit.isoformat()}",
            )

        def version(unit: datetime) -> int:
            return versions.get(day_key(unit), 0)

        by_unit: dict[datetime, list[dict[str, Any]]] = {}
        missing: list[datetime] = []
        for unit in units:
            kept = self._cache.get(key(unit), version(unit))
            if kept is None:
                missing.append(unit)
            else:
                by_unit[unit] = kept
                self.stats.cached_rollup_documents += len(kept)
        if missing:
            ranges = tuple((unit, unit + step) for unit in missing)
            found = await self._find_rollups(period, usage_filter, ranges)
            for unit in missing:
                by_unit[unit] = []
            for document in found:
                by_unit[_utc(document[period.time_field])].append(document)
            for unit in missing:
                self._cache.put(key(unit), version(unit), by_unit[unit])
        return [document for unit in units for document in by_unit[unit]]

    async def _find_rollups(
        self,
        period: RollupPeriod,
        usage_filter: UsageFilter,
        ranges: tuple[TimeRange, ...],
    ) -> list[dict[str, Any]]:
        match = rollup_match_stage(usage_filter, period, ranges)
        collection = _ROLLUP_DOCUMENTS[period].get_pymongo_collection()
        found: list[dict[str, Any]] = await collection.find(match["$match"]).to_list()
        self.stats.rollup_documents += len(found)
        return found

    async def _raw_rows(self, pipeline: Pipeline, query: UsageQuery) -> list[UsageRow]:
        async def run() -> list[dict[str, Any]]:
            cursor = await Log.get_pymongo_collection().aggregate(pipeline)
            results: list[dict[str, Any]] = await cursor.to_list()
            self.stats.raw_calls += sum(int(row["call_count"]) for row in results)
            return results

        results = await self._once(f"raw:{_canonical(pipeline)}", run)
        return rows_from_raw(results, query.grouping)

    async def _once(
        self, key: str, read: Callable[[], Awaitable[list[dict[str, Any]]]]
    ) -> list[dict[str, Any]]:
        task = self._reads.get(key)
        if task is None:
            self.stats.queries += 1
            task = asyncio.ensure_future(_guarded(read))
            self._reads[key] = task
        return await asyncio.shield(task)


@dataclass(frozen=True)
class _RollupRead:
    ranges: tuple[TimeRange, ...]
    task: asyncio.Task[list[dict[str, Any]]]


_UNIT = {RollupPeriod.DAY: timedelta(days=1), RollupPeriod.HOUR: timedelta(hours=1)}


def _whole_units(
    ranges: Sequence[TimeRange], period: RollupPeriod
) -> list[datetime] | None:
    """The UTC days (or hours) `ranges` cover, when each range is made of whole ones."""
    step = _UNIT[period]
    units: list[datetime] = []
    for start, end in ranges:
        if start.tzinfo is None or end.tzinfo is None:
            return None
        unit = start.astimezone(UTC)
        if _off_grid(unit, period) or _off_grid(end.astimezone(UTC), period):
            return None
        while unit < end:
            units.append(unit)
            unit += step
    return units


def _off_grid(moment: datetime, period: RollupPeriod) -> bool:
    finer = (moment.minute, moment.second, moment.microsecond)
    if period is RollupPeriod.DAY:
        return (moment.hour, *finer) != (0, 0, 0, 0)
    return finer != (0, 0, 0)


def _inside(wanted: TimeRange, ranges: Sequence[TimeRange]) -> bool:
    return any(start <= wanted[0] and wanted[1] <= end for start, end in ranges)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def _guarded(
    read: Callable[[], Awaitable[list[dict[str, Any]]]],
) -> list[dict[str, Any]]:
    with store_errors("read_usage"):
        return await read()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _raw_slot_ms(bucket_starts: Sequence[datetime] | None) -> int | None:
    if bucket_starts is None:
        return None
    for slot_ms in _RAW_SLOTS_MS:
        if all(int(start.timestamp() * 1000) % slot_ms == 0 for start in bucket_starts):
            return slot_ms
    return 1  # pragma: no cover - bucket starts are always whole seconds


async def summarize_usage(
    reader: UsageReader, usage_filter: UsageFilter, *, with_percentiles: bool = True
) -> UsageSummary:
    """Totals, rates and percentiles of the calls `usage_filter` selects.

    Raises:
        InvalidInput: the range is longer than `MAX_SUMMARY_SPAN`.
    """
    check_summary_span(usage_filter)
    query = UsageQuery(usage_filter, with_histograms=with_percentiles)
    rows = await reader.rows(query)
    return summarize(
        total_of(row.totals for row in rows), with_percentiles=with_percentiles
    )


async def count_distinct(usage_filter: UsageFilter, field: str) -> int:
    """How many distinct non-null values of `field` the selected calls carry.

    Always read from raw calls: roll-ups do not keep users or sessions.

    Raises:
        InvalidInput: the range is longer than `MAX_SUMMARY_SPAN`.
    """
    check_summary_span(usage_filter)
    pipeline = distinct_count_pipeline(usage_filter, field)
    with store_errors("count_distinct"):
        cursor = await Log.get_pymongo_collection().aggregate(pipeline)
        results: list[Mapping[str, Any]] = await cursor.to_list()
    return int(results[0]["count"]) if results else 0
