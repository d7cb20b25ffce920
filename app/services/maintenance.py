"""The background sweep: work no read depends on, done every interval."""

import asyncio
from datetime import UTC, datetime, timedelta

import structlog

from app.errors import Unavailable
from app.pubsub import Broker
from app.services.session_status import sweep_abandoned
from app.services.totals_sweep import count_abandoned_batches

log = structlog.get_logger(__name__)


async def sweep_forever(
    broker: Broker, interval_s: float, *, uncounted_after: timedelta
) -> None:
    """Every `interval_s` seconds, until cancelled: store ABANDONED on sessions
    past their timeout, and count batches left uncounted for `uncounted_after`.

    A round that fails because the store is down is logged and retried at the
    next interval: reads never depend on the sweep, so nothing waits for it.
    """
    while True:
        await asyncio.sleep(interval_s)
        now = datetime.now(UTC)
        try:
            await sweep_abandoned(broker, now=now)
        except Unavailable:
            log.warning("sessions.sweep_skipped", reason="store unavailable")
        try:
            await count_abandoned_batches(broker, now=now, older_than=uncounted_after)
        except Unavailable:
            log.warning("batches.sweep_skipped", reason="store unavailable")
