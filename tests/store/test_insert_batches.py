"""Patch 2: the wire `insert` command stores its documents in engine batches.

Upstream's loop must still insert one document at a time (else drop the patch),
and a pymongo client must see exactly what it saw before: the same result, the
same write errors, the same stored documents and the same insert counter.
"""

from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bson import Int64, ObjectId
from mongoeco.api._async.collection import AsyncCollection as EngineCollection
from mongoeco.engines.sqlite import SQLiteEngine
from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError

from tests.store.conftest import (
    Behaviour,
    Document,
    WireCollection,
    run_both,
    wire_collection,
)

type Setup = Callable[[WireCollection], Awaitable[None]]


@pytest.fixture
def write_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the server inserted one document, and how often a batch."""
    calls: Counter[str] = Counter()
    insert_one = EngineCollection.insert_one
    insert_documents = SQLiteEngine.insert_documents

    async def one(self: EngineCollection, *args: Any, **kwargs: Any) -> Any:
        calls["insert_one"] += 1
        return await insert_one(self, *args, **kwargs)

    async def batch(self: SQLiteEngine, *args: Any, **kwargs: Any) -> Any:
        calls["batch"] += 1
        return await insert_documents(self, *args, **kwargs)

    monkeypatch.setattr(EngineCollection, "insert_one", one)
    monkeypatch.setattr(SQLiteEngine, "insert_documents", batch)
    return calls


def calls(count: int, start: int = 0) -> list[Document]:
    return [{"_id": f"p:{n}", "n": n} for n in range(start, start + count)]


async def insert_and_observe(
    collection: WireCollection,
    documents: list[Document],
    *,
    ordered: bool,
    setup: Setup | None = None,
    bypass: bool = False,
) -> dict[str, Any]:
    """The client's view of one `insert_many`: outcome, stored documents, counter."""
    if setup is not None:
        await setup(collection)
    try:
        result = await collection.insert_many(
            documents, ordered=ordered, bypass_document_validation=bypass
        )
        outcome: object = {"inserted_ids": result.inserted_ids}
    except BulkWriteError as error:
        outcome = error.details
    except KeyError as error:  # pymongo could not read the server's reply
        outcome = {"unreadable_reply": str(error)}
    status = await collection.database.client.admin.command("serverStatus")
    return {
        "outcome": outcome,
        "stored": await collection.find().to_list(),
        "inserts_counted": status["opcounters"]["insert"],
    }


async def test_upstream_still_inserts_wire_batches_one_document_at_a_time(
    tmp_path: Path, behaviour: Behaviour, write_calls: Counter[str]
) -> None:
    """When this fails, upstream batches wire inserts itself: drop patch 2."""
    behaviour(False)
    async with wire_collection(tmp_path) as collection:
        await collection.insert_many(calls(10))

    assert write_calls == {"insert_one": 10}


async def test_the_patch_stores_a_wire_batch_in_one_engine_write(
    tmp_path: Path, behaviour: Behaviour, write_calls: Counter[str]
) -> None:
    behaviour(True)
    async with wire_collection(tmp_path) as collection:
        await collection.insert_many(calls(10))

        assert write_calls == {"batch": 1}
        assert await collection.count_documents({}) == 10


async def test_a_large_batch_is_stored_in_short_engine_writes(
    tmp_path: Path, behaviour: Behaviour, write_calls: Counter[str]
) -> None:
    behaviour(True)
    async with wire_collection(tmp_path) as collection:
        await collection.insert_many(calls(600))

        # 256 + 256 + 88: no transaction holds SQLite's write lock for long.
        assert write_calls == {"batch": 3}
        assert await collection.count_documents({}) == 600


async def test_a_failed_document_alone_goes_the_upstream_way(
    tmp_path: Path, behaviour: Behaviour, write_calls: Counter[str]
) -> None:
    behaviour(True)
    async with wire_collection(tmp_path) as collection:
        await collection.insert_one({"_id": "p:4"})
        write_calls.clear()
        with pytest.raises(BulkWriteError):
            await collection.insert_many(calls(10), ordered=False)

    # Documents 0-3 in one batch, 4 by insert_one (refused), 5-9 in a second batch.
    assert write_calls == {"batch": 2, "insert_one": 1}


async def _stored_duplicate(collection: WireCollection) -> None:
    await collection.insert_one({"_id": "p:2", "n": -2})


async def _numbers(collection: WireCollection) -> None:
    await collection.insert_one({"_id": 1})


async def _unique_email(collection: WireCollection) -> None:
    await collection.create_index("email", unique=True)
    await collection.insert_one({"_id": "x", "email": "taken@example.com"})


async def _validator(collection: WireCollection) -> None:
    await collection.database.create_collection(
        collection.name, validator={"n": {"$gte": 0}}
    )


async def _compound_index(collection: WireCollection) -> None:
    await collection.create_indexes([IndexModel([("a", ASCENDING), ("b", ASCENDING)])])


async def _validator_and_compound_index(collection: WireCollection) -> None:
    await _validator(collection)
    await _compound_index(collection)


async def _stored_around_batch_edges(collection: WireCollection) -> None:
    await collection.insert_many([calls(700)[n] for n in (255, 256, 600)])


async def _every_third_stored(collection: WireCollection) -> None:
    await collection.insert_many(calls(30)[::3])


# Each case: setup, documents, and the write errors' (index, code); None where
# upstream's reply cannot be read by pymongo (its error has no code), which the
# patched store must reproduce too.
CASES: dict[str, tuple[Setup | None, list[Document], list[tuple[int, int]] | None]] = {
    "a clean batch": (None, calls(50), []),
    "a stored duplicate": (_stored_duplicate, calls(6), [(2, 11000)]),
    "a duplicate inside the batch": (
        None,
        [{"_id": "a"}, {"_id": "b"}, {"_id": "a"}, {"_id": "c"}, {"_id": "b"}],
        [(2, 11000), (4, 11000)],
    ),
    "numeric ids equal by value": (
        _numbers,
        [{"_id": 2}, {"_id": 1.0}, {"_id": Int64(3)}, {"_id": 3.0}, {"_id": 4}],
        [(1, 11000), (3, 11000)],
    ),
    "an array _id": (
        None,
        [{"_id": "a"}, {"_id": [1, 2]}, {"_id": "b"}],
        [(1, 53)],
    ),
    "a unique secondary index": (
        _unique_email,
        [
            {"_id": "a", "email": "a@example.com"},
            {"_id": "b", "email": "taken@example.com"},
            {"_id": "c", "email": "c@example.com"},
        ],
        [(1, 11000)],
    ),
    "a validator": (
        _validator,
        [{"_id": f"v{n}", "n": n} for n in (1, -1, 2, -2, 3)],
        [(1, 121), (3, 121)],
    ),
    "parallel arrays in a compound index": (
        _compound_index,
        [
            {"_id": "x", "a": 1, "b": 1},
            {"_id": "y", "a": [1, 2], "b": [3, 4]},
            {"_id": "z", "a": 2, "b": 2},
        ],
        None,
    ),
    "a validator and parallel arrays": (
        _validator_and_compound_index,
        [
            # The batch path stores v and w, then fails on x after the split
            # the validator's refusal of y causes.
            {"_id": "v", "n": 1, "a": 1, "b": 1},
            {"_id": "w", "n": 2, "a": 2, "b": 2},
            {"_id": "x", "n": 3, "a": [1, 2], "b": [3, 4]},
            {"_id": "y", "n": -1, "a": 1, "b": 1},
        ],
        None,
    ),
    "duplicates at the edges of engine batches": (
        _stored_around_batch_edges,
        calls(700),
        [(255, 11000), (256, 11000), (600, 11000)],
    ),
    "many stored duplicates": (
        _every_third_stored,
        calls(30),
        [(index, 11000) for index in range(0, 30, 3)],
    ),
}


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
@pytest.mark.parametrize("case", list(CASES))
async def test_a_client_sees_what_upstream_shows(
    tmp_path: Path, behaviour: Behaviour, case: str, ordered: bool
) -> None:
    setup, documents, failures = CASES[case]

    async def scenario(collection: WireCollection) -> object:
        return await insert_and_observe(
            collection, [dict(d) for d in documents], ordered=ordered, setup=setup
        )

    upstream, patched = await run_both(tmp_path, behaviour, scenario)

    assert patched == upstream
    assert isinstance(patched, dict)
    if failures is None:
        assert "unreadable_reply" in patched["outcome"]
        return
    expected = failures[:1] if ordered else failures
    if not expected:
        assert patched["outcome"] == {"inserted_ids": [d["_id"] for d in documents]}
        return
    outcome = patched["outcome"]
    assert [(e["index"], e["code"]) for e in outcome["writeErrors"]] == expected
    stopped_at = expected[0][0]
    assert outcome["nInserted"] == (
        stopped_at if ordered else len(documents) - len(expected)
    )


async def test_the_duplicate_error_names_the_key_as_upstream_does(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    async def scenario(collection: WireCollection) -> object:
        return await insert_and_observe(
            collection, calls(6), ordered=True, setup=_stored_duplicate
        )

    upstream, patched = await run_both(tmp_path, behaviour, scenario)

    assert patched == upstream
    assert isinstance(patched, dict)
    error = patched["outcome"]["writeErrors"][0]
    assert error["keyPattern"] == {"_id": 1}
    assert error["keyValue"] == {"_id": "p:2"}
    assert "E11000 duplicate key error" in error["errmsg"]
    assert {"_id": "p:2", "n": -2} in patched["stored"]


async def test_bypassing_the_validator_stores_every_document_as_upstream_does(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    documents = [{"_id": f"v{n}", "n": n} for n in (1, -1, 2)]

    async def scenario(collection: WireCollection) -> object:
        return await insert_and_observe(
            collection, documents, ordered=True, setup=_validator, bypass=True
        )

    upstream, patched = await run_both(tmp_path, behaviour, scenario)

    assert patched == upstream
    assert isinstance(patched, dict)
    assert len(patched["stored"]) == 3


async def test_documents_without_an_id_get_fresh_object_ids(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    async def scenario(collection: WireCollection) -> object:
        reply = await collection.database.command(
            {"insert": collection.name, "documents": [{"x": n} for n in range(3)]}
        )
        stored = await collection.find().to_list()
        ids = {document["_id"] for document in stored}
        return (
            reply["n"],
            sorted(document["x"] for document in stored),
            len(ids),
            all(isinstance(value, ObjectId) for value in ids),
        )

    upstream, patched = await run_both(tmp_path, behaviour, scenario)

    assert patched == upstream == (3, [0, 1, 2], 3, True)


async def test_a_batch_in_a_transaction_behaves_as_upstream(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    async def scenario(collection: WireCollection) -> object:
        client = collection.database.client
        async with (
            client.start_session() as session,
            await session.start_transaction(),
        ):
            await collection.insert_many(calls(5), session=session)
        return await collection.find().to_list()

    upstream, patched = await run_both(tmp_path, behaviour, scenario)

    assert patched == upstream == calls(5)


async def test_the_profiler_still_records_each_document(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    async def scenario(collection: WireCollection) -> object:
        await collection.database.command("profile", 2)
        await collection.insert_many(calls(3))
        entries = await collection.database["system.profile"].find().to_list()
        return [entry["op"] for entry in entries]

    upstream, patched = await run_both(tmp_path, behaviour, scenario)

    assert patched == upstream
    assert isinstance(patched, list)
    assert patched.count("insert") == 3
