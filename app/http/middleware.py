"""ASGI middleware: request ids on every log line, API keys checked up front."""

import uuid

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError
from app.http.common import error_response, presented_secret
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
            await error_response(error)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
