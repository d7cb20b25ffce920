"""Roll-ups kept in memory between requests while their day is unchanged.

A dashboard asks for the same 30 days again and again, and only today's
roll-ups change meanwhile. Each process keeps the roll-ups it read, per
project, narrowing and UTC day (daily roll-ups) or hour (hourly ones), under
that day's version (`RollupVersions`); a request reads the versions (one
document) and then only the days and hours whose day's version moved. Writers bump a day's version after its roll-ups are written,
so an entry read before a write is always kept under an older version than
the one the next request sees.
"""

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from app.documents import RollupVersions
from app.services.store_errors import store_errors

# Project, canonical narrowing, and "day:<UTC day start>" or "hour:<UTC hour start>".
type CacheKey = tuple[str, str, str]


def day_key(moment: datetime) -> str:
    """The UTC day of `moment`, as `RollupVersions.days` names it."""
    return moment.strftime("%Y-%m-%d")


class RollupCache:
    """At most `max_documents` roll-ups, least recently used dropped first."""

    def __init__(self, max_documents: int) -> None:
        self.max_documents = max_documents
        self._entries: OrderedDict[CacheKey, tuple[int, list[dict[str, Any]]]] = (
            OrderedDict()
        )
        self._documents = 0

    def get(self, key: CacheKey, version: int) -> list[dict[str, Any]] | None:
        """The documents kept for `key` under `version`, or None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: CacheKey, version: int, documents: list[dict[str, Any]]) -> None:
        """Keep `documents` for `key` under `version`, replacing an older entry."""
        if len(documents) > self.max_documents:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._documents -= len(old[1])
        self._entries[key] = (version, documents)
        self._documents += len(documents)
        while self._documents > self.max_documents:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._documents -= len(dropped)


async def day_versions(project_id: str) -> dict[str, int]:
    """The version of each UTC day of the project's roll-ups (absent: 0)."""
    with store_errors("read_rollup_versions"):
        found = await RollupVersions.get_pymongo_collection().find_one(
            {"_id": project_id}
        )
    return dict(found["days"]) if found else {}


def version_bumps(touched: Iterable[tuple[str, datetime]]) -> list[UpdateOne]:
    """One upsert per project adding one to each UTC day in `touched`."""
    days: dict[str, set[str]] = {}
    for project_id, moment in touched:
        days.setdefault(project_id, set()).add(day_key(moment))
    return [
        UpdateOne(
            {"_id": project_id},
            {
                "$inc": {f"days.{day}": 1 for day in sorted(project_days)},
                "$setOnInsert": {"project_id": project_id},
            },
            upsert=True,
        )
        for project_id, project_days in days.items()
    ]


async def bump_versions(touched: Iterable[tuple[str, datetime]]) -> None:
    """Mark the days in `touched` changed; call after their roll-ups are written.

    Raises:
        Unavailable: the store did not answer; the caller's write is retried.
    """
    updates = version_bumps(touched)
    if updates:
        with store_errors("bump_rollup_versions"):
            await RollupVersions.get_pymongo_collection().bulk_write(
                updates, ordered=False
            )
