"""Fetch documents by primary key in a form both stores answer well."""

from collections.abc import Sequence
from typing import Any

from beanie import Document

SLICE = 200


async def find_by_ids[D: Document](
    document: type[D], ids: Sequence[str], *, where: dict[str, Any] | None = None
) -> list[D]:
    """The documents whose `_id` is in `ids` (and that match `where`), any order.

    The ids are sent as an `$or` of `_id` equalities, `SLICE` at a time, not as
    one `$in`: the embedded engine answers `$in` on `_id` by scanning the whole
    collection and refuses expressions about 1,000 deep, while MongoDB serves
    both forms from the `_id` index.
    """
    found: list[D] = []
    for start in range(0, len(ids), SLICE):
        keys = ids[start : start + SLICE]
        query: dict[str, Any] = {"$or": [{"_id": key} for key in keys]}
        if where:
            query.update(where)
        found += await document.find(query).to_list()
    return found
