"""Conversations: start, look up, complete and delete a session.

Sessions come to exist three ways, all with an upsert on the same `_id` and the
same fields (`new_session_fields`): a call that names a session
(`session_totals`), a message added to it (`session_messages`), or an explicit
start here. Whichever comes first creates it; the others only add to it.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from app.documents import Log, Session, SessionMessage, User, session_key, user_key
from app.documents.session import new_session_fields
from app.documents.user import new_user_fields
from app.errors import NotFound
from app.pubsub import Broker, SessionUpdated, sessions_topic
from app.services.call_validation import to_millis
from app.services.calls import ingest_rules
from app.services.session_input import SessionStartIn, validate_start
from app.services.session_status import session_timeout, with_effective_status
from app.services.session_totals import insert_only
from app.services.store_errors import store_errors
from app.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Started:
    """The session after `start_session`, and whether this request created it."""

    session: Session
    created: bool


async def start_session(
    project_id: str,
    start: SessionStartIn,
    *,
    settings: Settings,
    broker: Broker,
) -> Started:
    """Create the session, or add the user and metadata to the existing one.

    Starting a session that a call or message already created gives the same
    document as starting it first: its totals and status are left as they are.
    """
    rules = await ingest_rules(project_id, settings)
    now = datetime.now(UTC)
    valid = validate_start(start, rules.limits, now=now)
    session_id = valid.session_id or str(uuid.uuid4())
    key = session_key(project_id, session_id)

    assign: dict[str, Any] = {
        f"metadata.{name}": value for name, value in valid.metadata.items()
    }
    if valid.user_id is not None:
        assign["user_id"] = valid.user_id
    add_to_set: dict[str, Any] = {}
    if valid.model is not None:
        add_to_set["models"] = valid.model
    if valid.provider is not None:
        add_to_set["providers"] = valid.provider
    minimum = {"started_at": valid.started_at}
    on_insert = insert_only(
        new_session_fields(project_id, session_id), assign, add_to_set, minimum
    )
    on_insert["last_activity_at"] = valid.started_at
    update: dict[str, Any] = {"$setOnInsert": on_insert, "$min": minimum}
    if assign:
        update["$set"] = assign
    if add_to_set:
        update["$addToSet"] = add_to_set

    with store_errors("start_session"):
        result = await Session.get_pymongo_collection().update_one(
            {"_id": key}, update, upsert=True
        )
        if valid.user_id is not None:
            await _touch_user(project_id, valid.user_id, valid.started_at)
        stored = await Session.get(key)
    if stored is None:  # pragma: no cover - deleted between the two calls
        raise NotFound(f"session {session_id!r} was deleted while it was started")
    created = result.upserted_id is not None
    timeout = await session_timeout(project_id)
    session = with_effective_status(stored, now=now, timeout=timeout)
    if created:
        await broker.publish(
            sessions_topic(project_id), SessionUpdated(project_id, session, "created")
        )
        log.info("session.started", project_id=project_id, session_id=session_id)
    return Started(session=session, created=created)


async def _touch_user(project_id: str, user_id: str, seen_at: datetime) -> None:
    """Make sure the user exists, seen at `seen_at`, without counting a call."""
    times = {"first_seen_at": seen_at}
    latest = {"last_seen_at": seen_at}
    await User.get_pymongo_collection().update_one(
        {"_id": user_key(project_id, user_id)},
        {
            "$setOnInsert": new_user_fields(project_id, user_id),
            "$min": times,
            "$max": latest,
        },
        upsert=True,
    )


async def get_session(project_id: str, session_id: str) -> Session | None:
    """The session with its effective status, or None (also for other projects')."""
    with store_errors("get_session"):
        stored = await Session.get(session_key(project_id, session_id))
    if stored is None:
        return None
    timeout = await session_timeout(project_id)
    return with_effective_status(stored, now=datetime.now(UTC), timeout=timeout)


async def complete_session(
    project_id: str,
    session_id: str,
    *,
    broker: Broker,
) -> Session:
    """Mark the session completed now (once; completing it again changes nothing)."""
    key = session_key(project_id, session_id)
    end = to_millis(datetime.now(UTC))
    with store_errors("complete_session"):
        result = await Session.get_pymongo_collection().update_one(
            {"_id": key, "status": {"$ne": "completed"}},
            {"$set": {"status": "completed", "ended_at": end}},
        )
        stored = await Session.get(key)
    if stored is None:
        raise NotFound(
            f"no session {session_id!r} in this project; start it or send a "
            "message or call with this sessionId first"
        )
    if result.modified_count:
        await broker.publish(
            sessions_topic(project_id), SessionUpdated(project_id, stored, "completed")
        )
        log.info("session.completed", project_id=project_id, session_id=session_id)
    return stored


@dataclass(frozen=True, slots=True)
class Deleted:
    """What `delete_session` removed and unlinked."""

    session_id: str
    messages_deleted: int
    calls_unlinked: int


async def delete_session(
    project_id: str, session_id: str, *, broker: Broker
) -> Deleted:
    """Delete the session and its messages; its calls stay but lose the link.

    The session document goes last, so a request that fails half-way leaves a
    session that a retry finds and finishes deleting.
    """
    # TODO: a call or message that arrives for this session while it is being
    # deleted can keep its link or recreate the session with a gap in its
    # totals; acceptable because deleting a live conversation is rare and the
    # data stays consistent per document; a tombstone checked by ingest for a
    # short while would close the window.
    key = session_key(project_id, session_id)
    with store_errors("delete_session"):
        stored = await Session.get(key)
        if stored is None:
            raise NotFound(f"no session {session_id!r} in this project")
        scope = {"project_id": project_id, "session_id": session_id}
        unlinked = await Log.get_pymongo_collection().update_many(
            scope, {"$unset": {"session_id": ""}}
        )
        removed = await SessionMessage.get_pymongo_collection().delete_many(scope)
        await Session.get_pymongo_collection().delete_one({"_id": key})
    timeout = await session_timeout(project_id)
    last_state = with_effective_status(stored, now=datetime.now(UTC), timeout=timeout)
    await broker.publish(
        sessions_topic(project_id), SessionUpdated(project_id, last_state, "deleted")
    )
    log.info(
        "session.deleted",
        project_id=project_id,
        session_id=session_id,
        messages=removed.deleted_count,
        calls=unlinked.modified_count,
    )
    return Deleted(
        session_id=session_id,
        messages_deleted=removed.deleted_count,
        calls_unlinked=unlinked.modified_count,
    )
