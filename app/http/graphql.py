"""Strawberry's ASGI view with our context, limits and error shapes.

- Every HTTP refusal Strawberry makes itself (batching, content type, GET
  queries, unparsable JSON) is answered as a coded GraphQL error, not text.
- An operation over HTTP is cancelled after `operation_timeout_s` (504 TIMEOUT).
- WebSockets authenticate in `connection_init` (`app/http/websocket.py`); each
  operation sent over the socket is charged to the key's rate limit (a
  RATE_LIMITED error when over).
- Responses that carry UNAVAILABLE or RATE_LIMITED errors get `Retry-After`.
"""

import asyncio
import math
from typing import Any, cast

import structlog
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UNSET, UnsetType

from app import metrics
from app.context import Context
from app.errors import (
    AppError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TimedOut,
)
from app.http.common import error_response
from app.http.websocket import LiveTransportHandler
from app.services.rate_limit import RateLimiter

log = structlog.get_logger(__name__)

_RETRYABLE_CODES = frozenset({"UNAVAILABLE", "RATE_LIMITED"})


def _as_app_error(error: HTTPException, method: str) -> AppError:
    """A coded error for a refusal Strawberry raised as a bare HTTP status."""
    reason = error.reason
    if error.status_code == 404:
        return NotFound(reason)
    if error.status_code == 413:
        return PayloadTooLarge(reason)
    if method == "GET" and "not allowed" in reason.lower():
        reason = f"{reason}; send queries as POST with a JSON body"
    elif "batching" in reason.lower():
        reason = f"{reason}; send one operation per request"
    return InvalidInput(reason)


class RateLimitedTransportWS(LiveTransportHandler):
    """The live-feed handler, with each operation charged to the key's limit."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        principal = self.context.principal
        limiter: RateLimiter = self.context.rate_limiter
        if self.connection_acknowledged and principal is not None:
            decision = limiter.take(f"key:{principal.key_id}")
            if not decision.allowed:
                metrics.record_rate_limited("websocket")
                metrics.record_error(RateLimited.code)
                error = RateLimited(
                    "this key sent operations faster than its rate limit; retry "
                    f"after {math.ceil(decision.retry_after_s)} s",
                    retry_after_s=decision.retry_after_s,
                )
                refusal: ErrorMessage = {
                    "id": message["id"],
                    "type": "error",
                    "payload": [
                        {"message": error.message, "extensions": error.extensions()}
                    ],
                }
                await self.send_message(refusal)
                return
        await super().handle_subscribe(message)


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context, limits and WebSocket authentication."""

    graphql_transport_ws_handler_class = RateLimitedTransportWS

    def __init__(self, app: Starlette, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Own the socket's context, so its connection slot is freed however
            # the socket ends.
            websocket = WebSocket(scope, receive=receive, send=send)
            context = await self.get_context(websocket, websocket)
            try:
                await self.run(websocket, context=context)
            finally:
                self.app.state.connections.release(context)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = error_response(
                _as_app_error(error, request.method), graphql=True
            )
            response.status_code = error.status_code
        except TimedOut as error:
            response = error_response(error, graphql=True)
        await response(scope, receive, send)

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        timeout_s = self.app.state.settings.operation_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                return await super().execute_operation(*args, **kwargs)
        except TimeoutError:
            log.warning("graphql.timed_out", timeout_s=timeout_s)
            message = (
                f"the operation ran longer than {timeout_s:g} s and was cancelled; "
                "narrow the time range or filters, or ask for fewer fields"
            )
            raise TimedOut(message) from None

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        results = response_data if isinstance(response_data, list) else [response_data]
        extensions: list[dict[str, Any]] = [
            dict(error.get("extensions") or {})
            for result in results
            for error in result.get("errors") or ()
            if isinstance(error, dict)
        ]
        retryable = [ext for ext in extensions if ext.get("code") in _RETRYABLE_CODES]
        if retryable:
            retry_after = max(float(ext.get("retryAfterS", 1)) for ext in retryable)
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        state = self.app.state
        principal = request.scope.get("state", {}).get("principal")
        return Context(
            request=request,
            response=response,
            settings=state.settings,
            broker=state.broker,
            verifier=state.verifier,
            usage_windows=state.usage_windows,
            rate_limiter=state.rate_limiter,
            call_writer=state.call_writer,
            rollup_cache=state.rollup_cache,
            principal=principal,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object]:
        # Key check, per-key socket limit and revocation watch; the server
        # admin token opens no sockets (it reads no project's data).
        await self.app.state.connections.admit(context)
        return cast(UnsetType, UNSET)
