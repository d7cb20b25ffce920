"""ASGI middleware: request ids on every log line, API keys checked up front."""

import uuid

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError, PayloadTooLarge
from app.http.common import error_response, is_origin_route, presented_secret
from app.logconfig import request_id_var
from app.services.keys import KeyVerifier


class RequestIdMiddleware:
    """Bind a request id to every log line of the request and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class _BodyTooLarge(Exception):
    """Raised from `receive` when the body passes the limit mid-stream.

    Deliberately not an `HTTPException`: Starlette's exception middleware would
    answer it in plain text before it reaches `BodyLimitMiddleware`.
    """


class BodyLimitMiddleware:
    """Refuse request bodies over `max_body_bytes` with the JSON error shape (413).

    A declared `Content-Length` over the limit is refused before any other work;
    a body sent without one (chunked) is counted as it arrives and refused when
    it passes the limit. Replaces Starlette's own limit, which answers in plain
    text.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _refusal(self) -> PayloadTooLarge:
        message = (
            f"the request body is over the {self.max_body_bytes}-byte limit; send "
            "fewer calls per request"
        )
        return PayloadTooLarge(message, field="body")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = is_origin_route(scope["path"])
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await error_response(self._refusal(), origin=origin)(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _BodyTooLarge:
            if response_started:  # pragma: no cover - routes read before answering
                raise
            await error_response(self._refusal(), origin=origin)(scope, receive, send)


_PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


class AuthenticationMiddleware:
    """Resolve `Authorization: Bearer` on HTTP routes; refuse before any work.

    WebSockets authenticate in `connection_init` instead (browsers cannot set
    headers on a WebSocket), see `GraphQLApp.on_ws_connect`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            # The GraphiQL page itself holds no data; its requests carry the key.
            await self.app(scope, receive, send)
            return
        verifier: KeyVerifier = scope["app"].state.verifier
        try:
            secret = presented_secret(scope["path"], request.headers)
            principal = await verifier.verify(secret)
        except AppError as error:
            origin = is_origin_route(scope["path"])
            await error_response(error, origin=origin)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
