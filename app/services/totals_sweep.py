"""Count the calls of batches whose request failed and was never resent.

A batch stores its calls before it counts them in the session, user and usage
totals (`pending_totals`). When that request fails in between, the client is
told nothing was acknowledged and normally resends, which counts them. If it
never does, the calls are stored and readable but missing from the totals;
this sweep finds such batches once they are older than any request could be
and counts them, so the totals heal without anyone resending.
"""

from datetime import datetime, timedelta

import structlog
from pymongo import ReturnDocument

from app import metrics
from app.documents import Log, PendingTotals
from app.pubsub import Broker
from app.services.calls import apply_totals, publish_calls
from app.services.lookups import find_by_ids
from app.services.pending_totals import close_batch
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)

# Batches one round takes over; the rest wait for the next round.
ROUND_LIMIT = 20
# How long a sweep owns a batch it took over before another may try again.
CLAIM = timedelta(minutes=5)


async def count_abandoned_batches(
    broker: Broker, *, now: datetime, older_than: timedelta
) -> int:
    """Count the calls of batches opened before `now - older_than`; return how many.

    Each batch is first claimed with a conditional update, so that of several
    processes sweeping at once only one counts it. Calls a resent request
    already moved into its own batch are not counted again here.

    Raises:
        Unavailable: the store did not answer; the next round tries again.
    """
    with store_errors("find_abandoned_batches"):
        stale = (
            await PendingTotals.find({"created_at": {"$lt": now - older_than}})
            .limit(ROUND_LIMIT)
            .to_list()
        )
    counted = 0
    for batch in stale:
        if await _claim(str(batch.id), now):
            counted += await _count(batch, broker)
    return counted


async def _claim(batch_id: str, now: datetime) -> bool:
    with store_errors("claim_abandoned_batch"):
        claimed = await PendingTotals.get_pymongo_collection().find_one_and_update(
            {
                "_id": batch_id,
                "$or": [{"claimed_until": None}, {"claimed_until": {"$lt": now}}],
            },
            {"$set": {"claimed_until": now + CLAIM}},
            return_document=ReturnDocument.AFTER,
        )
    return claimed is not None


async def _count(batch: PendingTotals, broker: Broker) -> int:
    batch_id = str(batch.id)
    with store_errors("read_abandoned_batch"):
        stored = await find_by_ids(Log, batch.call_keys)
    # Calls a resent request took into its own batch are counted there.
    calls = [call for call in stored if call.totals_batch == batch_id]
    if not calls:
        await close_batch(batch_id)
        return 0
    await apply_totals(calls, batch_id=batch_id, broker=broker)
    # Never acknowledged, so never published: live subscribers see them now.
    await publish_calls(batch.project_id, calls, broker)
    metrics.record_counted_late(len(calls))
    log.info(
        "calls.counted_late",
        project_id=batch.project_id,
        batch_id=batch_id,
        calls=len(calls),
    )
    return len(calls)
