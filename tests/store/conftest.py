"""Wire servers in this process, with upstream's behaviour or with our patches.

The store patches change classes, so a test that switches them restores them
when it ends (the `behaviour` fixture) and the rest of the suite, which talks to
the separate store child, never notices.
"""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mongoeco.api._async._database_admin_write_commands import (
    DatabaseAdminWriteCommandService,
)
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from app.store import patches

type Document = dict[str, Any]
type Behaviour = Callable[[bool], None]
type WireCollection = AsyncCollection[Document]
type Scenario = Callable[[WireCollection], Awaitable[object]]

_PATCHED_ATTRIBUTES = (
    (SQLiteEngine, "_validate_document_against_unique_indexes"),
    (SQLiteEngine, "_select_first_document_for_plan"),
    (DatabaseAdminWriteCommandService, "command_insert"),
)


@pytest.fixture
def behaviour(monkeypatch: pytest.MonkeyPatch) -> Behaviour:
    """Switch between upstream mongoeco (False) and our patches (True)."""
    for owner, name in _PATCHED_ATTRIBUTES:
        # Registers the current method so it is put back after the test.
        monkeypatch.setattr(owner, name, getattr(owner, name))

    def use(patched: bool) -> None:
        patches.remove_store_patches()
        if patched:
            assert patches.install_store_patches()

    return use


@asynccontextmanager
async def wire_collection(folder: Path) -> AsyncIterator[WireCollection]:
    """A collection on a fresh SQLite store, reached through the wire protocol."""
    server = AsyncMongoEcoProxyServer(engine=SQLiteEngine(str(folder / "store.db")))
    address = await server.start()
    client: AsyncMongoClient[Document] = AsyncMongoClient(address.uri)
    try:
        yield client["db"]["calls"]
    finally:
        await client.close()
        await server.close()


async def run_both(
    tmp_path: Path, behaviour: Behaviour, scenario: Scenario
) -> tuple[object, object]:
    """What `scenario` observes with upstream's behaviour, then with our patches."""
    observed = []
    for patched in (False, True):
        behaviour(patched)
        folder = tmp_path / f"patched-{patched}"
        folder.mkdir()
        async with wire_collection(folder) as collection:
            observed.append(await scenario(collection))
    return observed[0], observed[1]


@pytest.fixture
def collection_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement that reads the documents table without a key lookup."""
    scans: list[str] = []
    original = SQLiteEngine._create_sqlite_connection

    def traced(self: SQLiteEngine) -> Any:
        connection = original(self)

        def record(statement: str) -> None:
            text = " ".join(statement.split())
            if "FROM documents" in text and not re.search(r"storage_key (=|IN)", text):
                scans.append(text)

        connection.set_trace_callback(record)
        return connection

    monkeypatch.setattr(SQLiteEngine, "_create_sqlite_connection", traced)
    return scans
