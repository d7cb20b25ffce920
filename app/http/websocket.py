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
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from starlette.websockets import WebSocket, WebSocketState
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
)

from app.context import Context
from app.errors import AppError, Unauthenticated
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
    """graphql-transport-ws, closing with our own code and reason on refusal."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except WebSocketRefused as refused:
            await self.websocket.close(code=refused.code, reason=refused.reason)


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
