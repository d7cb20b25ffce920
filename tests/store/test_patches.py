"""The embedded store's insert fix: still needed, still correct, still pinned."""

import inspect
from pathlib import Path
from typing import Any

import mongoeco
import pytest
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.errors import DuplicateKeyError

from app.store import patches


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


def test_the_patch_targets_the_pinned_mongoeco_release() -> None:
    # Upgrading mongoeco means re-reading the engine code this patch wraps.
    assert mongoeco.__version__ == patches.PATCHED_VERSION


def test_the_wrapped_method_keeps_the_signature_the_patch_was_written_for() -> None:
    original = (
        getattr(
            SQLiteEngine._validate_document_against_unique_indexes, "__wrapped__", None
        )
        or SQLiteEngine._validate_document_against_unique_indexes
    )
    parameters = list(inspect.signature(original).parameters)
    assert parameters[:4] == ["self", "db_name", "coll_name", "document"]
    assert {"exclude_storage_key", "skip_id_check", "scan_payload_id"} <= set(
        parameters
    )


async def test_upstream_still_scans_every_document_on_insert(
    tmp_path: Path, scan_counter: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When this fails, upstream fixed the slow path: drop app/store/patches.py."""
    unpatched = getattr(patches, "_ORIGINAL", None)
    if unpatched is not None:
        monkeypatch.setattr(
            SQLiteEngine, "_validate_document_against_unique_indexes", unpatched
        )

    scans, duplicate_refused = await insert_three_then_one(
        tmp_path / "db", scan_counter
    )

    assert scans >= 1
    assert duplicate_refused


async def test_the_patch_skips_the_scan_and_still_refuses_duplicates(
    tmp_path: Path, scan_counter: list[str]
) -> None:
    assert patches.patch_sqlite_id_scan()

    scans, duplicate_refused = await insert_three_then_one(
        tmp_path / "db", scan_counter
    )

    assert scans == 0
    assert duplicate_refused
