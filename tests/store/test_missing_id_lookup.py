"""Patch 3: a missing string `_id` is answered from its key, without a collection scan.

Upstream must still scan the collection when an upsert creates a document (else
drop the patch), and a pymongo client must see exactly what it saw before:
upserts create or update the same documents, with the same results.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from tests.store.conftest import Behaviour, WireCollection, run_both, wire_collection

type Writes = Callable[[WireCollection], Awaitable[list[object]]]


def totals(key: object, calls: int) -> UpdateOne:
    """An upsert shaped like the session totals and hourly roll-ups."""
    return UpdateOne(
        {"_id": key},
        {
            "$setOnInsert": {"project_id": "p"},
            "$inc": {"calls": calls},
            "$max": {"last": calls},
        },
        upsert=True,
    )


async def fill(collection: WireCollection, count: int) -> None:
    await collection.insert_many(
        [{"_id": f"p:s-{n}", "calls": 1} for n in range(count)]
    )


async def observe(collection: WireCollection, writes: Writes) -> dict[str, Any]:
    """The client's view: what each write answered, then every stored document."""
    try:
        answers: object = await writes(collection)
    except BulkWriteError as error:
        answers = error.details
    except DuplicateKeyError as error:
        answers = error.details
    return {"answers": answers, "stored": await collection.find().to_list()}


async def test_upstream_still_scans_the_collection_when_an_upsert_creates(
    tmp_path: Path, behaviour: Behaviour, collection_scans: list[str]
) -> None:
    """When this fails, upstream no longer scans for missing ids: drop patch 3."""
    behaviour(False)
    async with wire_collection(tmp_path) as collection:
        await fill(collection, 20)
        collection_scans.clear()

        await collection.bulk_write([totals("p:s-new", 1)])

    assert collection_scans


@pytest.mark.parametrize(
    "write",
    [
        lambda c: c.bulk_write([totals("p:s-new", 1)]),
        lambda c: c.bulk_write([totals("p:s-3", 1)]),
        lambda c: c.update_one({"_id": "p:s-missing"}, {"$set": {"x": 1}}),
        lambda c: c.replace_one({"_id": "p:s-new"}, {"calls": 0}, upsert=True),
        lambda c: c.delete_one({"_id": "p:s-missing"}),
    ],
    ids=["upsert creates", "upsert updates", "update misses", "replace", "delete"],
)
async def test_the_patch_writes_by_string_id_without_scanning(
    tmp_path: Path,
    behaviour: Behaviour,
    collection_scans: list[str],
    write: Callable[[WireCollection], Awaitable[object]],
) -> None:
    behaviour(True)
    async with wire_collection(tmp_path) as collection:
        await fill(collection, 20)
        collection_scans.clear()

        await write(collection)

    assert collection_scans == []


async def _mixed_upserts(collection: WireCollection) -> list[object]:
    await fill(collection, 5)
    first = await collection.bulk_write(
        [totals("p:s-1", 2), totals("p:s-new", 3), totals("p:s-4", 1)]
    )
    second = await collection.bulk_write(
        [totals("p:s-new", 1), totals("p:s-other", 7)], ordered=False
    )
    return [first.bulk_api_result, second.bulk_api_result]


async def _numeric_ids(collection: WireCollection) -> list[object]:
    await collection.insert_one({"_id": 1.0, "calls": 1})
    result = await collection.bulk_write([totals(1, 5), totals(2, 1)])
    return [result.bulk_api_result]


async def _string_like_object_id(collection: WireCollection) -> list[object]:
    object_id = ObjectId("65a1b2c3d4e5f60718293a4b")
    await collection.insert_one({"_id": object_id, "calls": 1})
    result = await collection.bulk_write([totals(str(object_id), 1)])
    return [result.bulk_api_result, await collection.count_documents({})]


async def _non_upserting_writes(collection: WireCollection) -> list[object]:
    await fill(collection, 3)
    missed = await collection.update_one({"_id": "p:s-9"}, {"$inc": {"calls": 1}})
    hit = await collection.update_one({"_id": "p:s-2"}, {"$inc": {"calls": 1}})
    gone = await collection.delete_one({"_id": "p:s-9"})
    deleted = await collection.delete_one({"_id": "p:s-0"})
    return [
        missed.raw_result,
        hit.raw_result,
        gone.raw_result,
        deleted.raw_result,
        await collection.find_one({"_id": "p:s-9"}),
        await collection.find_one({"_id": "p:s-1"}),
    ]


async def _replacements(collection: WireCollection) -> list[object]:
    await fill(collection, 2)
    result = await collection.bulk_write(
        [
            ReplaceOne({"_id": "p:s-new"}, {"calls": 9}, upsert=True),
            ReplaceOne({"_id": "p:s-1"}, {"calls": 8}, upsert=True),
        ]
    )
    return [result.bulk_api_result]


async def _unique_index_refusal(collection: WireCollection) -> list[object]:
    await collection.create_index("email", unique=True)
    await collection.insert_one({"_id": "a", "email": "taken@example.com"})
    result = await collection.bulk_write(
        [
            UpdateOne(
                {"_id": "b"}, {"$set": {"email": "taken@example.com"}}, upsert=True
            ),
            UpdateOne({"_id": "c"}, {"$set": {"email": "c@example.com"}}, upsert=True),
        ],
        ordered=False,
    )
    return [result.bulk_api_result]


async def _hinted_upsert(collection: WireCollection) -> list[object]:
    await fill(collection, 2)
    result = await collection.update_one(
        {"_id": "p:s-new"}, {"$inc": {"calls": 1}}, upsert=True, hint=[("_id", 1)]
    )
    return [result.raw_result]


SCENARIOS: dict[str, Writes] = {
    "upserts that create and update": _mixed_upserts,
    "numeric ids equal by value": _numeric_ids,
    "a string that spells an ObjectId": _string_like_object_id,
    "updates, deletes and reads without upsert": _non_upserting_writes,
    "replacements": _replacements,
    "a unique index refusing an upsert": _unique_index_refusal,
    "a hinted upsert": _hinted_upsert,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_a_client_sees_what_upstream_shows(
    tmp_path: Path, behaviour: Behaviour, scenario: str
) -> None:
    writes = SCENARIOS[scenario]

    upstream, patched = await run_both(
        tmp_path, behaviour, lambda collection: observe(collection, writes)
    )

    assert patched == upstream


async def test_upserts_create_new_documents_and_add_to_existing_ones(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    behaviour(True)
    async with wire_collection(tmp_path) as collection:
        observed = await observe(collection, _mixed_upserts)

    first, second = observed["answers"]
    assert (first["nUpserted"], first["nMatched"], first["nModified"]) == (1, 2, 2)
    assert first["upserted"] == [{"index": 1, "_id": "p:s-new"}]
    assert (second["nUpserted"], second["nMatched"]) == (1, 1)
    stored = {document["_id"]: document for document in observed["stored"]}
    assert stored["p:s-new"] == {
        "_id": "p:s-new",
        "project_id": "p",
        "calls": 4,
        "last": 3,
    }
    assert stored["p:s-1"]["calls"] == 3
    assert stored["p:s-other"]["calls"] == 7
    assert len(stored) == 7
