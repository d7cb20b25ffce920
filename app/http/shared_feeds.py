"""Run each distinct live feed once per process and send it to every socket.

Fifty dashboards watching the same project with the same subscription would
otherwise execute the same GraphQL selection fifty times per event. Here the
first socket to subscribe starts one execution (a "feed") keyed by everything
that can change its results: the project, the key's scopes, the document, the
variables and the operation name. Every result is encoded to JSON once and
queued for each member socket; each member has its own bounded backlog and
sender, so a slow socket is dropped on its own (and counted) while the feed and
the other members carry on.

Only event feeds are shared (`callLogged`, `sessionUpdated`): a member that joins
late simply sees the events from then on, as its own subscription would.
`usageTicked` starts with an immediate tick per subscriber, so it is not shared.
"""

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import structlog
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from strawberry.schema.base import BaseSchema
from strawberry.types.execution import ExecutionResult, PreExecutionError

from app.context import Context
from app.pubsub import SubscriberOverflowed
from app.pubsub.broker import SubscriberQueue

log = structlog.get_logger(__name__)

SHARED_FIELDS = frozenset({"callLogged", "sessionUpdated"})
RESUBSCRIBE = (
    "this subscription fell behind or lost its feed and was ended; subscribe again"
)

# What a feed hands its members: ("next" | "error", payload JSON) or ("complete", "").
type FeedMessage = tuple[str, str]


@lru_cache(maxsize=512)
def shared_field(query: str, operation_name: str | None) -> str | None:
    """The root field of `query` when it is a subscription that can be shared."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (
            operation_name is None
            or getattr(definition.name, "value", None) == operation_name
        )
    ]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        return None
    selections = operations[0].selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    name = selections[0].name.value
    return name if name in SHARED_FIELDS else None


@dataclass(frozen=True, slots=True)
class FeedKey:
    """Everything that can change what a subscription sends."""

    project_id: str
    scopes: frozenset[str]
    field: str
    query: str
    variables: str
    operation_name: str | None

    @classmethod
    def of(
        cls,
        context: Context,
        *,
        field: str,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> "FeedKey":
        caller = context.caller
        return cls(
            project_id=caller.project_id,
            scopes=frozenset(caller.scopes),
            field=field,
            query=query,
            variables=json.dumps(
                variables or {}, sort_keys=True, separators=(",", ":")
            ),
            operation_name=operation_name,
        )


@dataclass(eq=False)
class _Feed:
    key: FeedKey
    members: set[SubscriberQueue] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


def _encode(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


class SharedFeeds:
    """The running feeds of this process and their member sockets."""

    def __init__(self, *, queue_size: int) -> None:
        self._queue_size = queue_size
        self._feeds: dict[FeedKey, _Feed] = {}
        self.dropped_subscribers = 0

    def counts(self, project_id: str, field: str) -> tuple[int, int]:
        """(running feeds, member sockets) of one project's `field`."""
        feeds = [
            feed
            for key, feed in self._feeds.items()
            if key.project_id == project_id and key.field == field
        ]
        return len(feeds), sum(len(feed.members) for feed in feeds)

    def join(
        self,
        key: FeedKey,
        *,
        schema: BaseSchema,
        context: Context,
        variables: dict[str, Any] | None,
    ) -> SubscriberQueue:
        """A backlog that receives the feed's messages from now on."""
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = _Feed(key)
            # The feed outlives the socket that started it: give it a context of
            # its own, with the same project and scopes.
            feed_context = replace(context, connection_params=None, _loaders=None)
            feed.task = asyncio.create_task(
                self._run(feed, schema, feed_context, variables),
                name=f"live-feed:{key.project_id}:{key.field}",
            )
        member = SubscriberQueue(self._queue_size)
        feed.members.add(member)
        return member

    def leave(self, key: FeedKey, member: SubscriberQueue) -> None:
        feed = self._feeds.get(key)
        if feed is None or member not in feed.members:
            return
        feed.members.discard(member)
        if not feed.members:
            del self._feeds[key]
            if feed.task is not None:
                feed.task.cancel()

    def _broadcast(self, feed: _Feed, message: FeedMessage) -> None:
        for member in tuple(feed.members):
            if member.offer((message,)):
                self.dropped_subscribers += 1
                log.warning(
                    "subscriber.dropped", field=feed.key.field, reason="fell_behind"
                )

    async def _run(
        self,
        feed: _Feed,
        schema: BaseSchema,
        context: Context,
        variables: dict[str, Any] | None,
    ) -> None:
        key = feed.key
        try:
            results = await schema.stream(
                key.query,
                variable_values=variables,
                context_value=context,
                root_value=None,
                operation_name=key.operation_name,
            )
            async with aclosing(results):
                first = True
                async for result in results:
                    if first and isinstance(result, PreExecutionError):
                        errors = [error.formatted for error in result.errors or ()]
                        self._broadcast(feed, ("error", _encode(errors)))
                        return
                    first = False
                    if not isinstance(result, ExecutionResult):
                        continue  # incremental delivery: no graphql-transport-ws form
                    payload: dict[str, object] = {"data": result.data}
                    if result.errors:
                        payload["errors"] = [error.formatted for error in result.errors]
                    self._broadcast(feed, ("next", _encode(payload)))
            self._broadcast(feed, ("complete", ""))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # A feed loop: whatever stops it, every member must hear.
            log.error("live_feed.failed", field=key.field, exc_info=error)
            masked = {
                "message": "Unexpected error.",
                "extensions": {"code": "INTERNAL"},
            }
            self._broadcast(feed, ("next", _encode({"data": None, "errors": [masked]})))
            self._broadcast(feed, ("complete", ""))
        finally:
            if self._feeds.get(key) is feed:
                del self._feeds[key]


async def member_messages(member: SubscriberQueue) -> AsyncGenerator[FeedMessage]:
    """A member's messages; falling behind ends them with an UNAVAILABLE error."""
    try:
        async for message in member.events():
            yield message  # type: ignore[misc]  # the feed queues FeedMessage tuples only
    except SubscriberOverflowed:
        error = {"message": RESUBSCRIBE, "extensions": {"code": "UNAVAILABLE"}}
        yield ("next", _encode({"data": None, "errors": [error]}))
        yield ("complete", "")
