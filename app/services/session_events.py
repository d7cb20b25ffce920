"""Tell live subscribers which sessions a write changed, one message per batch."""

from collections.abc import Collection, Iterable

import structlog

from app.documents import Session
from app.errors import Unavailable
from app.pubsub import Broker, SessionChange, SessionUpdated, sessions_topic
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)


async def publish_session_changes(
    project_id: str,
    session_keys: Iterable[str],
    *,
    created_keys: Collection[str],
    broker: Broker,
) -> None:
    """Publish each session's state after a write, read back in one query.

    `created_keys` are the sessions the write created (`created`); the rest had
    their totals changed (`totals_changed`). The write is already stored and
    acknowledged, so a failed read-back is logged and publishes nothing rather
    than failing the caller.
    """
    keys = list(dict.fromkeys(session_keys))
    if not keys:
        return
    try:
        with store_errors("read_changed_sessions"):
            sessions = await Session.find({"_id": {"$in": keys}}).to_list()
    except Unavailable:
        log.warning("session.publish_skipped", project_id=project_id, count=len(keys))
        return

    events: list[SessionUpdated] = []
    for session in sessions:
        change: SessionChange = (
            "created" if session.id in created_keys else "totals_changed"
        )
        events.append(SessionUpdated(project_id, session, change))
    await broker.publish_many(sessions_topic(project_id), events)
