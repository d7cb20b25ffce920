"""create_app(): routes, middleware and lifespan. Wiring only."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app import metrics
from app.db import MongoClient, connect, init_db, ping
from app.http import ingest, origin_logs, origin_sessions, otlp
from app.http.graphql import GraphQLApp
from app.http.middleware import (
    AuthenticationMiddleware,
    BodyLimitMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
)
from app.http.shared_feeds import SharedFeeds
from app.http.websocket import ConnectionGuard
from app.logconfig import configure_logging
from app.pubsub import build_broker
from app.schema import build_schema
from app.services.call_writer import CallWriter
from app.services.keys import BootstrapKeys, KeyVerifier, bootstrap_default_project
from app.services.maintenance import sweep_forever
from app.services.rate_limit import RateLimiter
from app.services.rollup_cache import RollupCache
from app.services.usage_window import UsageWindows
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
                    sweep_forever(
                        app.state.broker,
                        settings.session_sweep_interval_s,
                        uncounted_after=timedelta(
                            seconds=settings.uncounted_batch_after_s
                        ),
                    )
                )
            log.info("service.started", environment=settings.environment)
            yield
        finally:
            app.state.shutting_down = True
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await app.state.usage_windows.close()
            await app.state.broker.close()
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
        if not await ping(client, timeout_s=settings.store_timeout_ms / 1000):
            return JSONResponse(
                {"status": "store unreachable"},
                status_code=503,
                headers={"Retry-After": "2"},
            )
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app = Starlette(lifespan=lifespan)
    app.state.settings = settings
    app.state.broker = build_broker(settings)
    app.state.rollup_cache = (
        RollupCache(settings.rollup_cache_documents)
        if settings.rollup_cache_documents
        else None
    )
    app.state.call_writer = CallWriter(
        app.state.broker, max_group=settings.max_batch_size
    )
    admin_token = settings.admin_token
    app.state.verifier = KeyVerifier(
        ttl_s=settings.key_cache_ttl_s,
        admin_token=admin_token.get_secret_value() if admin_token else None,
    )
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_per_s, settings.rate_limit_burst
    )
    app.state.usage_windows = UsageWindows(
        app.state.broker, max_calls=settings.usage_window_max_calls
    )
    app.state.shared_feeds = SharedFeeds(queue_size=settings.subscriber_queue_size)
    app.state.connections = ConnectionGuard(
        app.state.verifier,
        max_per_key=settings.max_connections_per_key,
        recheck_s=settings.ws_key_recheck_s,
    )
    app.state.shutting_down = False

    graphql = GraphQLApp(
        app,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.is_development else None,
        allow_queries_via_get=False,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_s),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=settings.allowed_origins,
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
    if settings.metrics_enabled:
        app.router.routes.append(Route("/metrics", metrics_endpoint))
    # Added last = runs first: CORS answers preflights before authentication.
    app.add_middleware(AuthenticationMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Project-ID"],
            expose_headers=[
                "Retry-After",
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
            max_age=600,
        )
    return app
