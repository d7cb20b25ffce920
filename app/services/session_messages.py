"""Messages: the turns of a conversation, each its own document, in exact order.

Adding a message takes four steps, each atomic on its own:

1. reserve the next sequence number with `$inc` on the session (the upsert that
   creates the session when this message is its first sign of life);
2. insert the message with `totals_applied=False`;
3. add its tokens, cost and duration to the session's message totals;
4. mark it applied.

A client that sends its own message id can retry safely after any failure: the
retry finds the stored message and finishes step 3 if it had not happened. A
retry that finds it applied changes nothing. Without an id a retry is a new
message (the origin's SDK always sends one).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.documents import Session, SessionMessage, message_key, session_key
from app.documents.session import new_session_fields
from app.documents.session_message import AUTO_ID_PREFIX
from app.errors import NotFound
from app.pubsub import Broker, SessionUpdated, sessions_topic
from app.services.calls import ingest_rules
from app.services.pagination import Page, keyset_page
from app.services.session_input import MessageIn, ValidMessage, validate_message
from app.services.session_status import session_timeout, with_effective_status
from app.services.session_totals import insert_only
from app.services.store_errors import store_errors
from app.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AddedMessage:
    """The stored message, its session afterwards, and whether this request stored it."""

    message: SessionMessage
    session: Session
    created: bool


async def _reserve_seq(project_id: str, valid: ValidMessage) -> tuple[int, bool]:
    """The message's sequence number, and whether the session was created for it."""
    timestamp = valid.timestamp
    increments = {"message_seq": 1}
    on_insert = insert_only(
        new_session_fields(project_id, valid.session_id), increments
    )
    on_insert |= {"started_at": timestamp, "last_activity_at": timestamp}
    before = await Session.get_pymongo_collection().find_one_and_update(
        {"_id": session_key(project_id, valid.session_id)},
        {"$inc": increments, "$setOnInsert": on_insert},
        upsert=True,
        projection={"message_seq": 1},
        return_document=ReturnDocument.BEFORE,
    )
    if before is None:
        return 1, True
    return int(before.get("message_seq", 0)) + 1, False


async def _apply_totals(message: SessionMessage) -> Session | None:
    """Add `message` to its session's totals and mark it applied."""
    key = session_key(message.project_id, message.session_id)
    lowest: dict[str, Any] = {"started_at": message.timestamp}
    highest: dict[str, Any] = {"last_activity_at": message.timestamp}
    if message.role == "user":
        lowest["first_user_seq"] = message.seq
    elif message.role == "assistant":
        highest["last_assistant_seq"] = message.seq
    sessions = Session.get_pymongo_collection()
    after = await sessions.find_one_and_update(
        {"_id": key},
        {
            "$inc": {
                "message_count": 1,
                "message_prompt_tokens": message.prompt_tokens,
                "message_completion_tokens": message.completion_tokens,
                "message_cost_usd": message.cost_usd,
                "message_duration_ms": message.duration_ms,
            },
            "$min": lowest,
            "$max": highest,
        },
        return_document=ReturnDocument.AFTER,
    )
    if after is not None and after.get("status") == "abandoned":
        # New activity reopens an abandoned conversation, as a call does.
        await sessions.update_one(
            {"_id": key, "status": "abandoned"}, {"$set": {"status": "active"}}
        )
        after["status"] = "active"
    await SessionMessage.get_pymongo_collection().update_one(
        {"_id": message.id}, {"$set": {"totals_applied": True}}
    )
    message.totals_applied = True
    return Session.model_validate(after) if after is not None else None


async def _stored_retry(key: str) -> SessionMessage | None:
    existing = await SessionMessage.get(key)
    if existing is not None and not existing.totals_applied:
        await _apply_totals(existing)
    return existing


async def add_message(
    project_id: str, message: MessageIn, *, settings: Settings, broker: Broker
) -> AddedMessage:
    """Store one message and add it to its session, creating the session if needed."""
    rules = await ingest_rules(project_id, settings)
    now = datetime.now(UTC)
    valid = validate_message(message, rules.limits, now=now)

    stored: SessionMessage | None = None
    session_created = created = False
    with store_errors("add_message"):
        if valid.message_id is not None:
            stored = await _stored_retry(
                message_key(project_id, valid.session_id, valid.message_id)
            )
        if stored is None:
            seq, session_created = await _reserve_seq(project_id, valid)
            message_id = valid.message_id or f"{AUTO_ID_PREFIX}{seq}"
            document = SessionMessage(
                _id=message_key(project_id, valid.session_id, message_id),
                message_id=message_id,
                project_id=project_id,
                session_id=valid.session_id,
                seq=seq,
                role=valid.role,
                content=valid.content,
                content_truncated=valid.content_truncated,
                timestamp=valid.timestamp,
                prompt_tokens=valid.prompt_tokens,
                completion_tokens=valid.completion_tokens,
                cost_usd=valid.cost_usd,
                duration_ms=valid.duration_ms,
            )
            try:
                await SessionMessage.get_pymongo_collection().insert_one(
                    document.model_dump(by_alias=True)
                )
                created = True
                await _apply_totals(document)
                stored = document
            except DuplicateKeyError:
                # The same client id raced in from a retry; its seq leaves a gap.
                stored = await _stored_retry(document.id)
        after = await Session.get(session_key(project_id, valid.session_id))
    if stored is None or after is None:  # pragma: no cover - deleted meanwhile
        message_text = (
            f"session {valid.session_id!r} was deleted while a message was added"
        )
        raise NotFound(message_text)

    timeout = await session_timeout(project_id)
    session = with_effective_status(after, now=now, timeout=timeout)
    if created:
        topic = sessions_topic(project_id)
        if session_created:
            await broker.publish(topic, SessionUpdated(project_id, session, "created"))
        await broker.publish(
            topic, SessionUpdated(project_id, session, "message_added")
        )
        log.info(
            "session.message_added",
            project_id=project_id,
            session_id=valid.session_id,
            seq=stored.seq,
        )
    return AddedMessage(message=stored, session=session, created=created)


async def list_messages(
    project_id: str, session_id: str, *, first: int, after: str | None
) -> Page[SessionMessage]:
    """The session's messages in the order they were added."""
    with store_errors("list_messages"):
        return await keyset_page(
            SessionMessage,
            {"project_id": project_id, "session_id": session_id},
            sort_field="seq",
            descending=False,
            first=first,
            after=after,
        )


async def messages_at(
    project_id: str, positions: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], SessionMessage]:
    """The messages at (session id, seq) positions, in one indexed query."""
    if not positions:
        return {}
    clauses = [{"session_id": session_id, "seq": seq} for session_id, seq in positions]
    with store_errors("messages_at"):
        rows = await SessionMessage.find(
            {"project_id": project_id, "$or": clauses}
        ).to_list()
    return {(row.session_id, row.seq): row for row in rows}
