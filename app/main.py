"""create_app(): routes, middleware and lifespan. Wiring only."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app.context import Context
from app.db import MongoClient, connect, init_db, ping
from app.errors import AppError
from app.http import ingest, origin_logs, origin_sessions, otlp
from app.http.middleware import (
    AuthenticationMiddleware,
    BodyLimitMiddleware,
    RequestIdMiddleware,
)
from app.logconfig import configure_logging
from app.pubsub import InMemoryBroker
from app.schema import build_schema
from app.services.keys import BootstrapKeys, KeyVerifier, bootstrap_default_project
from app.services.session_status import sweep_forever
from app.settings import Settings, get_settings
from app.store.embedded import EmbeddedStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StartupInfo:
    """What the operator is told once the service is up."""

    graphql_url: str
    store: str
    bootstrap: BootstrapKeys | None


type StartupHook = Callable[[StartupInfo], None]


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context and WebSocket authentication."""

    def __init__(self, app: Starlette, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

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
            principal=principal,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object]:
        params = context.connection_params or {}
        raw = (
            params.get("authorization")
            or params.get("Authorization")
            or params.get("apiKey")
        )
        secret = raw if isinstance(raw, str) else None
        if secret is not None and secret.lower().startswith("bearer "):
            secret = secret[len("bearer ") :]
        try:
            context.principal = await context.verifier.verify(secret)
        except AppError as error:
            log.info("websocket.refused", code=error.code)
            raise ConnectionRejectionError({"code": error.code}) from None
        return cast(UnsetType, UNSET)


def create_app(
    settings: Settings | None = None, *, on_startup: StartupHook | None = None
) -> Starlette:
    """The whole service; lifespan starts the store when no URI is configured."""
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store: EmbeddedStore | None = None
        sweeper: asyncio.Task[None] | None = None
        if settings.mongodb_uri is None:
            store = EmbeddedStore(settings.data_dir)
            await store.start()
            uri = store.uri
        else:
            uri = settings.mongodb_uri.get_secret_value()
        client = connect(uri, settings)
        app.state.client = client
        app.state.store = store
        try:
            await init_db(client, settings)
            bootstrap = await bootstrap_default_project()
            if on_startup is not None:
                on_startup(
                    StartupInfo(
                        graphql_url=f"http://{settings.host}:{settings.port}/graphql",
                        store=f"embedded ({settings.data_dir.resolve()})"
                        if store
                        else "MongoDB",
                        bootstrap=bootstrap,
                    )
                )
            if settings.session_sweep_interval_s > 0:
                sweeper = asyncio.create_task(
                    sweep_forever(app.state.broker, settings.session_sweep_interval_s)
                )
            log.info("service.started", environment=settings.environment)
            yield
        finally:
            app.state.shutting_down = True
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await client.close()
            if store is not None:
                await store.stop()
            log.info("service.stopped")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        state = request.app.state
        client: MongoClient | None = getattr(state, "client", None)
        if getattr(state, "shutting_down", False) or client is None:
            return JSONResponse({"status": "stopping"}, status_code=503)
        if not await ping(client):
            return JSONResponse({"status": "store unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    app = Starlette(lifespan=lifespan)
    app.state.settings = settings
    app.state.broker = InMemoryBroker(settings.subscriber_queue_size)
    app.state.verifier = KeyVerifier(ttl_s=settings.key_cache_ttl_s)
    app.state.shutting_down = False

    graphql = GraphQLApp(
        app,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.is_development else None,
        allow_queries_via_get=False,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_s),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    app.router.routes.extend(
        [
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/v1/logs", ingest.post_logs, methods=["POST"]),
            Route("/v1/traces", otlp.post_traces, methods=["POST"]),
            Route("/api/logs", origin_logs.create_log, methods=["POST"]),
            Route("/api/logs", origin_logs.list_logs, methods=["GET"]),
            Route("/api/logs/{log_id}", origin_logs.get_log, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *origin_sessions.routes,
        ]
    )
    app.add_middleware(AuthenticationMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
