"""Shared fixtures: one real embedded store, one app, an HTTP client and a live server."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from app.store.embedded import EmbeddedStore
from tests.factories import ADMIN_TOKEN, TestProject, make_project
from tests.live_helpers import free_port as free_port  # tests import it from here
from tests.live_helpers import serve
from tests.redis_server import REDIS_SERVER, SKIP_REASON, redis_server


@pytest.fixture(scope="session")
async def store(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[EmbeddedStore]:
    embedded = EmbeddedStore(tmp_path_factory.mktemp("store"))
    await embedded.start()
    yield embedded
    await embedded.stop()


@pytest.fixture(scope="session")
def settings(store: EmbeddedStore) -> Settings:
    return Settings(
        environment="test",
        mongodb_uri=SecretStr(store.uri),
        database_name="llmd_test",
        data_dir=Path("unused"),
        key_cache_ttl_s=0,
        admin_token=SecretStr(ADMIN_TOKEN),
        # The suite sends bursts from one key; rate limits have their own tests.
        rate_limit_per_s=0,
        # Tests change projects directly in the store; read them every time.
        project_cache_ttl_s=0,
        session_sweep_interval_s=0,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session")
async def live_url(app: Starlette, settings: Settings) -> AsyncIterator[str]:
    """The same app behind a real uvicorn socket, for WebSocket clients."""
    async with serve(app, ws_max_size=settings.max_ws_message_bytes) as url:
        yield url


@pytest.fixture
async def project(app: Starlette) -> TestProject:
    return await make_project()


@pytest.fixture
async def other_project(app: Starlette) -> TestProject:
    return await make_project()


def sibling_app(app: Starlette, **overrides: object) -> Starlette:
    """Another app on the session's store, with some settings changed.

    It runs no lifespan: Beanie binds documents process-wide, so a second
    client would steal them from the session app. It borrows its client.
    """
    settings = Settings.model_validate({**app.state.settings.model_dump(), **overrides})
    sibling = create_app(settings)
    sibling.state.client = app.state.client
    return sibling


def http_client(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client on `app` without a socket."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A real redis-server for the session; tests that need it skip without it."""
    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    async with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
