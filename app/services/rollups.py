"""Keep the hourly and daily usage roll-ups equal to the stored calls.

Ingest adds every batch (`write_rollups`, from `calls.apply_totals`); code that
deletes or reprices stored calls tells the roll-ups what changed
(`adjust_rollups`). Deleting a project drops its roll-ups with the rest of its
documents (`projects.delete_project`).
"""

import asyncio
from collections.abc import Sequence

from pymongo import UpdateOne

from app.documents import Log
from app.documents.rollup import DailyUsageRollup, UsageRollup
from app.pipelines.rollup import RollupPeriod, rollup_updates
from app.services.pending_totals import pending_batches
from app.services.rollup_cache import bump_versions
from app.services.store_errors import store_errors

_DOCUMENTS = {RollupPeriod.HOUR: UsageRollup, RollupPeriod.DAY: DailyUsageRollup}


async def write_rollups(logs: Sequence[Log]) -> None:
    """Add `logs` to their roll-ups: one bulk write per roll-up collection.

    Raises:
        Unavailable: the store did not answer; the caller retries the batch.
    """
    await _write(
        {period: rollup_updates(logs, period=period) for period in _DOCUMENTS}, logs
    )


async def adjust_rollups(removed: Sequence[Log], added: Sequence[Log]) -> None:
    """Subtract `removed` calls from their roll-ups and add `added` ones.

    For a delete pass the deleted calls as `removed` and nothing as `added`;
    for a repricing pass each call as stored before (`removed`) and after
    (`added`). Calls whose batch is still open (`pending_totals`) are in no
    roll-up, and `calls.apply_totals` will add them as they are then stored,
    so they are left out on both sides. Maxima (slowest call,
    latest error) are not lowered by a removal.

    Raises:
        Unavailable: the store did not answer; retry with the same arguments.
    """
    pending = await pending_batches(log.totals_batch for log in (*removed, *added))
    subtracted = [log for log in removed if log.totals_batch not in pending]
    added = [log for log in added if log.totals_batch not in pending]
    await _write(
        {
            period: [
                *rollup_updates(subtracted, sign=-1, period=period),
                *rollup_updates(added, period=period),
            ]
            for period in _DOCUMENTS
        },
        [*subtracted, *added],
    )


async def _write(
    updates: dict[RollupPeriod, list[UpdateOne]], logs: Sequence[Log]
) -> None:
    async def write(period: RollupPeriod, period_updates: list[UpdateOne]) -> None:
        if period_updates:
            collection = _DOCUMENTS[period].get_pymongo_collection()
            await collection.bulk_write(period_updates, ordered=False)

    with store_errors("write_rollups"):
        await asyncio.gather(
            *(write(period, batch) for period, batch in updates.items())
        )
    # After the roll-ups, never before: see `rollup_cache`.
    await bump_versions((log.project_id, log.timestamp) for log in logs)
