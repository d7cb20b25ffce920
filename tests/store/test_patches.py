"""The embedded store's fixes: pinned, installed by the store child, and the `_id` scan one.

The other two fixes have their own modules: test_insert_batches.py and
test_missing_id_lookup.py.
"""

import inspect
from pathlib import Path
from typing import Any

import mongoeco
import pytest
from mongoeco.api._async._database_admin_write_commands import (
    DatabaseAdminWriteCommandService,
)
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.errors import DuplicateKeyError

from app.store import patches
from app.store.embedded import EmbeddedStore
from tests.store.conftest import Behaviour


@pytest.fixture
def scan_counter(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every full-collection read the engine does."""
    calls: list[str] = []
    original = SQLiteEngine._load_documents

    def counting(self: SQLiteEngine, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[1] if len(args) > 1 else "")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLiteEngine, "_load_documents", counting)
    return calls


async def insert_three_then_one(
    path: Path, scan_counter: list[str]
) -> tuple[int, bool]:
    async with mongoeco.AsyncMongoClient(SQLiteEngine(str(path))) as client:
        collection = client["db"]["llm_logs"]
        for index in range(3):
            await collection.insert_one({"_id": f"project:call-{index}", "n": index})
        scan_counter.clear()
        await collection.insert_one({"_id": "project:call-new"})
        scans = len(scan_counter)
        try:
            await collection.insert_one({"_id": "project:call-1"})
        except DuplicateKeyError:
            duplicate_refused = True
        else:
            duplicate_refused = False
    return scans, duplicate_refused


def test_the_patches_target_the_pinned_mongoeco_release() -> None:
    # Upgrading mongoeco means re-reading the engine code these patches wrap.
    assert mongoeco.__version__ == patches.PATCHED_VERSION


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (
            patches.UPSTREAM_VALIDATE_UNIQUE,
            [
                *("self", "db_name", "coll_name", "document"),
                *("exclude_storage_key", "skip_id_check", "scan_payload_id"),
            ],
        ),
        (patches.UPSTREAM_COMMAND_INSERT, ["self", "spec", "session"]),
        (
            patches.UPSTREAM_SELECT_FIRST,
            ["self", "db_name", "coll_name", "plan", "hint", "context"],
        ),
    ],
    ids=["unique-index check", "wire insert", "first-document lookup"],
)
def test_the_wrapped_methods_keep_the_signatures_the_patches_were_written_for(
    method: Any, expected: list[str]
) -> None:
    assert list(inspect.signature(method).parameters) == expected


def test_installing_twice_wraps_each_method_once(behaviour: Behaviour) -> None:
    behaviour(True)
    installed = (
        SQLiteEngine._validate_document_against_unique_indexes,
        DatabaseAdminWriteCommandService.command_insert,
        SQLiteEngine._select_first_document_for_plan,
    )

    assert patches.install_store_patches()

    assert installed == (
        SQLiteEngine._validate_document_against_unique_indexes,
        DatabaseAdminWriteCommandService.command_insert,
        SQLiteEngine._select_first_document_for_plan,
    )


def test_another_mongoeco_release_gets_no_patch(
    behaviour: Behaviour, monkeypatch: pytest.MonkeyPatch
) -> None:
    behaviour(False)
    monkeypatch.setattr(patches, "mongoeco_version", "9.9.9")

    assert not patches.install_store_patches()

    assert (
        DatabaseAdminWriteCommandService.command_insert
        is patches.UPSTREAM_COMMAND_INSERT
    )


def test_the_store_child_runs_with_every_patch(store: EmbeddedStore) -> None:
    assert store.patched


async def test_upstream_still_scans_every_document_on_insert(
    tmp_path: Path, scan_counter: list[str], behaviour: Behaviour
) -> None:
    """When this fails, upstream fixed the slow path: drop patch 1."""
    behaviour(False)

    scans, duplicate_refused = await insert_three_then_one(
        tmp_path / "db", scan_counter
    )

    assert scans >= 1
    assert duplicate_refused


async def test_the_patch_skips_the_scan_and_still_refuses_duplicates(
    tmp_path: Path, scan_counter: list[str], behaviour: Behaviour
) -> None:
    behaviour(True)

    scans, duplicate_refused = await insert_three_then_one(
        tmp_path / "db", scan_counter
    )

    assert scans == 0
    assert duplicate_refused
