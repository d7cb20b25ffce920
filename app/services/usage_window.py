"""Live usage: per project and process, one rolling window of recent calls.

A window is opened by the first live-usage subscriber of a project in this
process. It subscribes once to the project's calls on the broker (so calls
ingested by any process arrive), then reads the calls of the last minutes
once through the `(project_id, timestamp)` index. Calls that arrive while that
seed query runs are held back and added afterwards unless the seed saw them.
Every subscriber then builds its own `UsageTally` from the window in one pass
and is fed each new call as it arrives; ticks read the tally, never the store.
"""

import asyncio
import math
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import structlog

from app.documents import Log
from app.errors import AppError
from app.pubsub import Broker, CallLogged, SubscriberOverflowed, calls_topic
from app.services.live import LiveCallFilter
from app.services.store_errors import store_errors
from app.services.usage_tally import UsageEntry, UsageTally

log = structlog.get_logger(__name__)

_SEED_FIELDS = (
    "call_id",
    "timestamp",
    "provider",
    "model",
    "environment",
    "status",
    "user_id",
    "session_id",
    "cost_usd",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "duration_ms",
)


def _entry_from_row(row: dict[str, Any]) -> UsageEntry:
    timestamp: datetime = row["timestamp"]
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return UsageEntry(
        call_id=row["call_id"],
        at=timestamp.timestamp(),
        provider=row["provider"],
        model=row["model"],
        environment=row.get("environment") or "production",
        status=row.get("status") or "success",
        user_id=row.get("user_id"),
        session_id=row.get("session_id"),
        cost_usd=row.get("cost_usd"),
        prompt_tokens=row.get("prompt_tokens") or 0,
        completion_tokens=row.get("completion_tokens") or 0,
        total_tokens=row.get("total_tokens") or 0,
        duration_ms=row.get("duration_ms"),
    )


async def recent_calls(
    project_id: str, *, since: float, until: float | None, limit: int
) -> tuple[list[UsageEntry], bool]:
    """Calls that started in `[since, until)`, oldest first, newest `limit` kept.

    Returns the entries and whether `limit` cut older ones off.
    """
    time_range: dict[str, datetime] = {"$gte": datetime.fromtimestamp(since, UTC)}
    if until is not None:
        time_range["$lt"] = datetime.fromtimestamp(until, UTC)
    projection = dict.fromkeys(_SEED_FIELDS, 1) | {"_id": 0}
    with store_errors("seed_usage_window"):
        cursor = (
            Log.get_pymongo_collection()
            .find({"project_id": project_id, "timestamp": time_range}, projection)
            .sort("timestamp", -1)
            .limit(limit + 1)
        )
        rows = await cursor.to_list()
    truncated = len(rows) > limit
    entries = [_entry_from_row(row) for row in rows[:limit]]
    entries.reverse()
    return entries, truncated


class UsageWindow:
    """The recent calls of one project, kept for the longest window in use."""

    def __init__(self, project_id: str, *, retention_s: float, max_calls: int) -> None:
        self.project_id = project_id
        self.max_calls = max_calls
        # The longest window in use (or being opened): calls older than that
        # are dropped as new ones arrive.
        self.retention_s = retention_s
        self.entries: deque[UsageEntry] = deque()
        # Every call that started at or after this moment is in `entries`.
        self.covered_since = math.inf
        self.tallies: set[UsageTally] = set()
        self.failed = False
        self._held: list[UsageEntry] | None = []
        self._pump: asyncio.Task[None] | None = None

    async def start(self, broker: Broker, *, since: float) -> None:
        """Subscribe, then seed from the store; calls in between are not lost."""
        subscribed = asyncio.get_running_loop().create_future()
        self._pump = asyncio.create_task(
            self._run_pump(broker, subscribed), name=f"usage-window:{self.project_id}"
        )
        await subscribed

        seeded, truncated = await recent_calls(
            self.project_id, since=since, until=None, limit=self.max_calls
        )
        self.entries.extend(seeded)
        self.covered_since = seeded[0].at if truncated else since
        seeded_ids = {entry.call_id for entry in seeded}
        held, self._held = self._held or [], None
        for entry in held:
            if entry.call_id not in seeded_ids:
                self._keep(entry, time.time())

    async def extend(self, *, since: float) -> None:
        """Read the older calls a longer window needs, once."""
        room = self.max_calls - len(self.entries)
        if room <= 0:
            return
        older, truncated = await recent_calls(
            self.project_id, since=since, until=self.covered_since, limit=room
        )
        # A late call (old start, arrived live) may already be here.
        known = {
            entry.call_id for entry in self.entries if entry.at < self.covered_since
        }
        self.entries.extendleft(
            reversed([entry for entry in older if entry.call_id not in known])
        )
        self.covered_since = older[0].at if truncated and older else since

    def add_tally(self, call_filter: LiveCallFilter, window_s: float) -> UsageTally:
        """A subscriber's tally, built from the calls held now."""
        tally = UsageTally(call_filter, window_s)
        now = time.time()
        for entry in self.entries:
            tally.add(entry, now=now)
        tally.complete = self.covered_since <= now - window_s
        self.tallies.add(tally)
        return tally

    def remove_tally(self, tally: UsageTally) -> None:
        self.tallies.discard(tally)
        if self.tallies:
            self.retention_s = max(other.window_s for other in self.tallies)

    def receive(self, entry: UsageEntry, now: float) -> None:
        if self._held is not None:
            self._held.append(entry)
            return
        self._keep(entry, now)
        for tally in self.tallies:
            tally.add(entry, now=now)

    def _keep(self, entry: UsageEntry, now: float) -> None:
        self.entries.append(entry)
        horizon = now - self.retention_s
        while self.entries and self.entries[0].at < horizon:
            self.entries.popleft()
            self.covered_since = max(self.covered_since, horizon)
        while len(self.entries) > self.max_calls:
            # Over the memory cap: later subscribers' windows start later.
            dropped = self.entries.popleft()
            self.covered_since = max(self.covered_since, dropped.at)

    def fail(self) -> None:
        """The feed broke: every subscriber must resubscribe to get exact totals."""
        self.failed = True
        for tally in self.tallies:
            tally.broken.set()

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with suppress(asyncio.CancelledError):
                await self._pump

    async def _run_pump(self, broker: Broker, subscribed: asyncio.Future[None]) -> None:
        try:
            async with broker.subscribe(calls_topic(self.project_id)) as events:
                subscribed.set_result(None)
                async for event in events:
                    if isinstance(event, CallLogged):
                        self.receive(UsageEntry.from_log(event.log), time.time())
        except Exception as error:
            # A loop fed by the broker: whatever stops it, subscribers must hear.
            if isinstance(error, (SubscriberOverflowed, AppError)):
                log.warning(
                    "usage_window.failed",
                    project_id=self.project_id,
                    error=type(error).__name__,
                )
            else:
                log.error("usage_window.crashed", exc_info=error)
            if not subscribed.done():
                subscribed.set_exception(error)
            self.fail()


class UsageWindows:
    """The usage windows of this process, one per project with subscribers."""

    def __init__(self, broker: Broker, *, max_calls: int) -> None:
        self._broker = broker
        self._max_calls = max_calls
        self._windows: dict[str, UsageWindow] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def window(self, project_id: str) -> UsageWindow | None:
        return self._windows.get(project_id)

    @asynccontextmanager
    async def tally(
        self, project_id: str, call_filter: LiveCallFilter, *, window_s: float
    ) -> AsyncIterator[UsageTally]:
        """A live tally of the project's calls over the last `window_s` seconds."""
        async with self._locks[project_id]:
            window = await self._window_covering(project_id, window_s)
            tally = window.add_tally(call_filter, window_s)
        try:
            yield tally
        finally:
            async with self._locks[project_id]:
                window.remove_tally(tally)
                if not window.tallies:
                    if self._windows.get(project_id) is window:
                        del self._windows[project_id]
                    await window.stop()

    async def _window_covering(self, project_id: str, window_s: float) -> UsageWindow:
        since = time.time() - window_s
        window = self._windows.get(project_id)
        if window is not None and not window.failed:
            window.retention_s = max(window.retention_s, window_s)
            if window.covered_since > since:
                await window.extend(since=since)
            return window

        window = UsageWindow(
            project_id, retention_s=window_s, max_calls=self._max_calls
        )
        try:
            await window.start(self._broker, since=since)
        except BaseException:
            await window.stop()
            raise
        self._windows[project_id] = window
        log.info(
            "usage_window.opened", project_id=project_id, calls=len(window.entries)
        )
        return window

    async def close(self) -> None:
        for window in list(self._windows.values()):
            window.fail()
            await window.stop()
        self._windows.clear()
