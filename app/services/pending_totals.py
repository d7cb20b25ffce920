"""Which stored calls are not yet counted in the totals (`PendingTotals`).

Ingest opens a batch before it stores calls, tags each call with the batch id,
and closes the batch once the session, user and roll-up totals include them.
"""

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pymongo import UpdateOne

from app.documents import Log, PendingTotals
from app.services.lookups import find_by_ids
from app.services.store_errors import store_errors


def new_batch_id() -> str:
    return secrets.token_hex(12)


async def open_batch(project_id: str, batch_id: str, call_keys: list[str]) -> None:
    """Record that calls tagged `batch_id` are about to be stored, uncounted.

    Raises:
        Unavailable: the store did not answer; nothing was stored.
    """
    with store_errors("open_totals_batch"):
        await PendingTotals.get_pymongo_collection().insert_one(
            {
                "_id": batch_id,
                "project_id": project_id,
                "created_at": datetime.now(UTC),
                "call_keys": call_keys,
                "claimed_until": None,
            }
        )


async def close_batch(batch_id: str) -> None:
    """Every call tagged `batch_id` is now counted in the totals."""
    with store_errors("close_totals_batch"):
        await PendingTotals.get_pymongo_collection().delete_one({"_id": batch_id})


async def pending_batches(batch_ids: Iterable[str | None]) -> set[str]:
    """The ones among `batch_ids` whose calls are not all counted yet."""
    wanted = sorted({batch_id for batch_id in batch_ids if batch_id is not None})
    if not wanted:
        return set()
    with store_errors("find_pending_totals"):
        found = await find_by_ids(PendingTotals, wanted)
    return {str(batch.id) for batch in found}


async def uncounted(logs: Sequence[Log]) -> list[Log]:
    """The calls among `logs` that the totals do not include yet."""
    pending = await pending_batches(log.totals_batch for log in logs)
    return [log for log in logs if log.totals_batch in pending]


def move_to_batch(logs: Sequence[Log], batch_id: str) -> list[UpdateOne]:
    """Updates that tag calls of an earlier, unfinished batch with `batch_id`.

    A retry counts such calls with its own batch; once tagged, closing the
    retry's batch marks them counted while the earlier batch stays open for
    any of its calls that were not retried.
    """
    return [
        UpdateOne({"_id": log.id}, {"$set": {"totals_batch": batch_id}})
        for log in logs
        if log.totals_batch != batch_id
    ]
