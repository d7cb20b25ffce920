"""Live feeds: a broker subscription in, filtered output types out."""

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing, suppress

import strawberry

from app.context import Context
from app.errors import Unavailable
from app.pubsub import (
    CallLogged,
    SessionUpdated,
    SubscriberOverflowed,
    calls_topic,
    sessions_topic,
)
from app.schema.inputs.live import (
    LiveCallFilterInput,
    SessionUpdateFilterInput,
    checked_interval_s,
    checked_window_minutes,
)
from app.schema.types.live import SessionChange, SessionUpdate, UsageTick
from app.schema.types.log import Log
from app.schema.types.session import Session
from app.services.live import LiveCallFilter, SessionUpdateFilter

RESUBSCRIBE = (
    "this subscription fell behind or lost its feed and was ended; subscribe again"
)


async def _feed(context: Context, topic: str) -> AsyncGenerator[object]:
    """The project's events on `topic`; falling behind ends it with UNAVAILABLE."""
    async with context.broker.subscribe(topic) as events:
        try:
            async for event in events:
                yield event
        except SubscriberOverflowed:
            raise Unavailable(RESUBSCRIBE, retry_after_s=0) from None


async def call_logged(
    info: strawberry.Info[Context, None],
    filter: LiveCallFilterInput | None = None,
) -> AsyncGenerator[Log]:
    context = info.context
    call_filter = filter.to_filter() if filter is not None else LiveCallFilter()
    topic = calls_topic(context.caller.project_id)
    async with aclosing(_feed(context, topic)) as events:
        async for event in events:
            if isinstance(event, CallLogged) and call_filter.matches(event.log):
                yield Log.from_document(event.log)


async def session_updated(
    info: strawberry.Info[Context, None],
    filter: SessionUpdateFilterInput | None = None,
) -> AsyncGenerator[SessionUpdate]:
    context = info.context
    session_filter = filter.to_filter() if filter is not None else SessionUpdateFilter()
    topic = sessions_topic(context.caller.project_id)
    async with aclosing(_feed(context, topic)) as events:
        async for event in events:
            if isinstance(event, SessionUpdated) and session_filter.matches(
                event.session, event.change
            ):
                context.reset_loaders()
                yield SessionUpdate(
                    change=SessionChange(event.change),
                    session=Session.from_document(event.session),
                )


async def usage_ticked(
    info: strawberry.Info[Context, None],
    filter: LiveCallFilterInput | None = None,
    interval_seconds: int = 10,
    window_minutes: int = 5,
) -> AsyncGenerator[UsageTick]:
    context = info.context
    call_filter = filter.to_filter() if filter is not None else LiveCallFilter()
    interval_s = checked_interval_s(interval_seconds)
    window_minutes = checked_window_minutes(window_minutes)
    windows = context.usage_windows
    async with windows.tally(
        context.caller.project_id, call_filter, window_s=window_minutes * 60
    ) as tally:
        while True:
            snapshot = tally.snapshot(time.time())
            yield UsageTick.from_snapshot(snapshot, window_minutes)
            with suppress(TimeoutError):
                await asyncio.wait_for(tally.broken.wait(), timeout=interval_s)
            if tally.broken.is_set():
                raise Unavailable(RESUBSCRIBE, retry_after_s=0)
