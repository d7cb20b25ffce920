"""The store patches: still needed, still correct, still for the pinned version.

These tests run `mongoeco`'s engine in process (no wire server) so that they can
watch which engine methods a write calls. When an upgrade changes a method the
patches wrap, or fixes the slowness on its own, a test here fails and the
patch is revisited.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mongoeco import MongoClient
from mongoeco import __version__ as mongoeco_version
from mongoeco.core.query_plan import EqualsCondition
from mongoeco.engines.sqlite import SQLiteEngine
from pymongo.errors import DuplicateKeyError

from app.store.patches import PATCHED_VERSION, patch_store


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[SQLiteEngine]:
    assert patch_store()
    sqlite = SQLiteEngine(str(tmp_path / "patches.sqlite"))
    client = MongoClient(sqlite)
    client["db"]["rollups"].insert_one({"_id": "seed", "calls": 1})
    yield sqlite
    client.close()


@pytest.fixture
def collection(engine: SQLiteEngine) -> Iterator[Any]:
    client = MongoClient(engine)
    yield client["db"]["rollups"]
    client.close()


class Calls:
    """Counts calls to one engine method while leaving its behaviour alone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.count = 0
        wrapped = getattr(SQLiteEngine, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return wrapped(*args, **kwargs)

        monkeypatch.setattr(SQLiteEngine, name, counting)


def test_the_store_is_the_release_the_patches_were_written_for() -> None:
    assert mongoeco_version == PATCHED_VERSION
    assert patch_store()


def test_upstream_still_plans_a_general_query_when_an_id_lookup_misses(
    engine: SQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = SQLiteEngine._select_first_document_for_plan.__wrapped__  # type: ignore[attr-defined]  # set by functools.wraps
    planned = Calls(monkeypatch, "_compile_read_execution_plan")

    missing = upstream(engine, "db", "rollups", EqualsCondition("_id", "absent"))

    assert missing is None
    assert planned.count == 1


def test_a_missing_string_id_is_answered_without_planning_a_query(
    engine: SQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = Calls(monkeypatch, "_compile_read_execution_plan")

    missing = engine._select_first_document_for_plan(
        "db", "rollups", EqualsCondition("_id", "absent")
    )
    found = engine._select_first_document_for_plan(
        "db", "rollups", EqualsCondition("_id", "seed")
    )

    assert missing is None
    assert found is not None
    assert found[1] == {"_id": "seed", "calls": 1}
    assert planned.count == 0


def test_upserts_by_string_id_create_then_increment(
    collection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = Calls(monkeypatch, "_compile_read_execution_plan")
    update = {"$inc": {"calls": 2}, "$setOnInsert": {"kind": "hourly"}}

    created = collection.update_one({"_id": "new"}, update, upsert=True)
    incremented = collection.update_one({"_id": "new"}, update, upsert=True)
    untouched = collection.update_one({"_id": "other"}, update, upsert=False)

    assert created.upserted_id == "new"
    assert incremented.matched_count == 1
    assert untouched.matched_count == 0
    assert planned.count == 0
    assert collection.find_one({"_id": "new"}) == {
        "_id": "new",
        "calls": 4,
        "kind": "hourly",
    }
    assert collection.find_one({"_id": "other"}) is None


def test_numeric_ids_keep_logical_equality(collection: Any) -> None:
    collection.insert_one({"_id": 1, "calls": 1})

    updated = collection.update_one({"_id": 1.0}, {"$inc": {"calls": 1}}, upsert=True)

    assert updated.matched_count == 1
    assert collection.find_one({"_id": 1}) == {"_id": 1, "calls": 2}


def test_upstream_still_scans_every_id_on_a_single_insert(
    engine: SQLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = SQLiteEngine._validate_document_against_unique_indexes.__wrapped__  # type: ignore[attr-defined]  # set by functools.wraps
    scans = Calls(monkeypatch, "_load_documents")

    upstream(engine, "db", "rollups", {"_id": "fresh"}, scan_payload_id=True)

    assert scans.count == 1


def test_single_inserts_of_string_ids_skip_the_scan_and_still_refuse_duplicates(
    collection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans = Calls(monkeypatch, "_load_documents")

    collection.insert_one({"_id": "fresh"})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": "fresh"})

    assert scans.count == 0
