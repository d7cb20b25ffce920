"""Shared fixtures: one real embedded store, one app, an HTTP client and a live server."""

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from app.store.embedded import EmbeddedStore
from tests.factories import TestProject, make_project


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def live_url(app: Starlette) -> AsyncIterator[str]:
    """The same app behind a real uvicorn socket, for WebSocket clients."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def project(app: Starlette) -> TestProject:
    return await make_project()


@pytest.fixture
async def other_project(app: Starlette) -> TestProject:
    return await make_project()
