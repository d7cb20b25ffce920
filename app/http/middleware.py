"""ASGI middleware: request ids, metrics, API keys and rate limits, up front."""

import time
import uuid

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import AppError, PayloadTooLarge, RateLimited, Unauthenticated
from app.http.common import error_response, is_origin_route, presented_secret
from app.logconfig import request_id_var
from app.services.keys import KeyVerifier
from app.services.rate_limit import Decision, RateLimiter


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


_PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
GRAPHQL_PATH = "/graphql"


def route_label(scope: Scope) -> str:
    """The route template that serves `scope` (bounded label), or "unmatched"."""
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class MetricsMiddleware:
    """Count every HTTP request by route template, method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            route = route_label(scope)
            metrics.HTTP_REQUESTS.labels(
                route=route, method=scope["method"], status=str(status)
            ).inc()
            metrics.HTTP_DURATION.labels(route=route).observe(
                time.perf_counter() - started
            )


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = list(message.get("headers", []))
            raw.extend(
                (name.lower().encode(), value.encode())
                for name, value in headers.items()
            )
            message["headers"] = raw
        await send(message)

    return send_with_headers


def _refusal(decision: Decision) -> RateLimited:
    message = (
        f"this key sent more than {decision.limit} requests in a burst; slow down "
        f"and retry after {decision.headers()['Retry-After']} s"
    )
    return RateLimited(message, retry_after_s=decision.retry_after_s)


class AuthenticationMiddleware:
    """Resolve `Authorization: Bearer` on HTTP routes and charge the key's rate limit.

    Refusals happen before any work: 401 for a missing, unknown or revoked key,
    429 with `Retry-After` when the key is over its limit (and for a client
    address that keeps presenting unknown keys). Every answer to a known key
    carries `X-RateLimit-Limit/Remaining/Reset`.

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
        if request.method == "OPTIONS" or (
            request.method == "GET" and "text/html" in request.headers.get("accept", "")
        ):
            # CORS preflights and the GraphiQL page itself hold no data; the
            # requests that follow carry the key.
            await self.app(scope, receive, send)
            return

        state = scope["app"].state
        verifier: KeyVerifier = state.verifier
        limiter: RateLimiter = state.rate_limiter
        as_graphql = scope["path"] == GRAPHQL_PATH
        client_key = f"client:{request.client.host if request.client else '-'}"
        try:
            if not limiter.check(client_key).allowed:
                # This address presented unknown keys faster than the limit.
                metrics.record_rate_limited("http")
                raise _refusal(limiter.check(client_key))
            secret = presented_secret(scope["path"], request.headers)
            try:
                principal = await verifier.authenticate(secret)
            except Unauthenticated:
                limiter.take(client_key)
                raise
            decision = limiter.take(f"key:{principal.key_id}")
            if not decision.allowed:
                metrics.record_rate_limited("http")
                await error_response(
                    _refusal(decision),
                    origin=is_origin_route(scope["path"]),
                    graphql=as_graphql,
                    headers=decision.headers(),
                )(scope, receive, send)
                return
        except AppError as error:
            await error_response(
                error, origin=is_origin_route(scope["path"]), graphql=as_graphql
            )(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        headers = decision.headers() if limiter.enabled else {}
        await self.app(scope, receive, _with_headers(send, headers))


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
    text. On `/graphql` the refusal is GraphQL-shaped.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _refusal(self) -> PayloadTooLarge:
        message = (
            f"the request body is over the {self.max_body_bytes}-byte limit; send "
            "fewer calls per request (LLMD_MAX_BODY_BYTES sets the limit)"
        )
        return PayloadTooLarge(message, field="body")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = is_origin_route(scope["path"])
        as_graphql = scope["path"] == GRAPHQL_PATH
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            refusal = error_response(self._refusal(), origin=origin, graphql=as_graphql)
            await refusal(scope, receive, send)
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
            refusal = error_response(self._refusal(), origin=origin, graphql=as_graphql)
            await refusal(scope, receive, send)
