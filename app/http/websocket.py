"""Live-feed WebSockets: who may open one, how many, and for how long.

A socket authenticates once, in `connection_init` (browsers cannot set headers
on a WebSocket). While it stays open its key is checked again every
`ws_key_recheck_s` seconds; a revoked key's socket is closed with 4403, which
ends every subscription on it.

Close codes a client can see:

    4403  unknown or revoked key (at connection_init, or later on revocation)
    4408  no connection_init within ws_init_timeout_s (strawberry)
    4429  too many open sockets for this key in this process
    1009  a message larger than max_ws_message_bytes (uvicorn)
"""

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from app.context import Context
from app.errors import AppError, Unauthenticated
from app.http.shared_feeds import FeedKey, SharedFeeds, member_messages, shared_field
from app.pubsub.broker import SubscriberQueue
from app.services.keys import KeyVerifier

log = structlog.get_logger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429


class WebSocketRefused(Exception):
    """Close the socket with `code` and a `reason` that says what to do."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class LiveTransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with our refusals, and shared event feeds.

    A subscription to an event feed joins the process's running execution of
    the same feed (see `app/http/shared_feeds.py`) instead of starting its own;
    everything else (queries, usageTicked, protocol errors, limits) is
    strawberry's own handling.
    """

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except WebSocketRefused as refused:
            await self.websocket.close(code=refused.code, reason=refused.reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message["payload"]
        query = payload["query"]
        operation_name = payload.get("operationName")
        variables = payload.get("variables")
        limit = self.max_subscriptions_per_connection
        field = shared_field(query, operation_name) if isinstance(query, str) else None
        if (
            field is None
            or not self.connection_acknowledged
            or self.context.principal is None
            or message["id"] in self.operations
            or (limit is not None and len(self.operations) >= limit)
            or not isinstance(self.context.request, WebSocket)
        ):
            # Strawberry answers these itself (including every protocol error).
            await super().handle_subscribe(message)
            return

        feeds: SharedFeeds = self.context.request.app.state.shared_feeds
        key = FeedKey.of(
            self.context,
            field=field,
            query=query,
            variables=variables,
            operation_name=operation_name,
        )
        member = feeds.join(
            key, schema=self.schema, context=self.context, variables=variables
        )
        operation = Operation(self, message["id"], query, variables, operation_name)
        operation.task = asyncio.create_task(
            self._relay(operation.id, feeds, key, member)
        )
        operation.task.add_done_callback(self._task_done)
        self.operations[operation.id] = operation

    async def _relay(
        self,
        operation_id: str,
        feeds: SharedFeeds,
        key: FeedKey,
        member: SubscriberQueue,
    ) -> None:
        """Send a shared feed's messages to this socket under its operation id."""
        websocket = self.context.request
        assert isinstance(websocket, WebSocket)
        prefix = '{"id":' + json.dumps(operation_id) + ',"type":'
        try:
            async with aclosing(member_messages(member)) as messages:
                async for kind, payload in messages:
                    if kind == "next":
                        await websocket.send_text(
                            prefix + '"next","payload":' + payload + "}"
                        )
                        continue
                    # Free the id before the final message, as the protocol wants.
                    self.operations.pop(operation_id, None)
                    if kind == "error":
                        await websocket.send_text(
                            prefix + '"error","payload":' + payload + "}"
                        )
                    else:
                        await websocket.send_text(prefix + '"complete"}')
                    return
        except (WebSocketDisconnect, RuntimeError):
            return  # the socket is gone; its shutdown cleans up
        finally:
            feeds.leave(key, member)


def connection_secret(params: Mapping[str, object] | None) -> str | None:
    """The key in a `connection_init` payload: `authorization` or `apiKey`."""
    params = params or {}
    raw = params.get("authorization") or params.get("Authorization")
    raw = raw or params.get("apiKey")
    if not isinstance(raw, str):
        return None
    scheme, _, rest = raw.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else raw.strip()


@dataclass(slots=True)
class _Admission:
    key_id: str
    watch: asyncio.Task[None]


class ConnectionGuard:
    """Admit sockets by key, count them per key, and drop revoked keys' sockets."""

    def __init__(
        self, verifier: KeyVerifier, *, max_per_key: int, recheck_s: float
    ) -> None:
        self._verifier = verifier
        self._max_per_key = max_per_key
        self._recheck_s = recheck_s
        self._open: Counter[str] = Counter()
        self._admitted: dict[int, _Admission] = {}

    def open_count(self, key_id: str) -> int:
        return self._open[key_id]

    async def admit(self, context: Context) -> None:
        """Authenticate `connection_init`; raise `WebSocketRefused` to refuse."""
        secret = connection_secret(context.connection_params)
        try:
            principal = await self._verifier.verify(secret)
        except AppError as error:
            log.info("websocket.refused", code=error.code)
            reason = (
                "send a valid API key in connection_init as "
                '{"authorization": "Bearer <key>"}'
            )
            raise WebSocketRefused(CLOSE_FORBIDDEN, reason) from None

        if self._open[principal.key_id] >= self._max_per_key:
            log.info("websocket.refused", code="TOO_MANY_CONNECTIONS")
            reason = (
                f"this key has {self._max_per_key} open connections already; "
                "close one or use another key"
            )
            raise WebSocketRefused(CLOSE_TOO_MANY, reason)

        context.principal = principal
        self._open[principal.key_id] += 1
        watch = asyncio.create_task(
            self._watch_key(context.request, secret or ""), name="websocket-key-watch"
        )
        self._admitted[id(context)] = _Admission(principal.key_id, watch)
        log.info("websocket.opened", project_id=principal.project_id)

    def release(self, context: Context) -> None:
        """Forget a closed socket: free its slot and stop checking its key."""
        admission = self._admitted.pop(id(context), None)
        if admission is None:
            return
        admission.watch.cancel()
        self._open[admission.key_id] -= 1
        if self._open[admission.key_id] <= 0:
            del self._open[admission.key_id]

    async def _watch_key(self, websocket: object, secret: str) -> None:
        while True:
            await asyncio.sleep(self._recheck_s)
            try:
                await self._verifier.verify(secret)
            except Unauthenticated:
                break
            except AppError as error:
                # The store did not answer: keep the feed and ask again later.
                log.warning("websocket.key_check_failed", code=error.code)
        log.info("websocket.key_revoked")
        if (
            isinstance(websocket, WebSocket)
            and websocket.application_state == WebSocketState.CONNECTED
        ):
            await websocket.close(code=CLOSE_FORBIDDEN, reason="API key revoked")
