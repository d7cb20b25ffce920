"""Minimal fixes for `mongoeco` 4.11.0 that keep writes by `_id` constant-time.

Both rest on one fact: for an `_id` that contains no number, the engine's
storage key (`repr` of the id) is exact, so one primary-key lookup answers "is
there a document with this `_id`?" completely. Numeric ids need logical
equality (`1 == 1.0`), so they keep upstream's general, slower path.

Inserts (`patch_sqlite_id_scan`): upstream, a single-document insert asks the
engine to compare the new `_id` with every stored `_id` (`scan_payload_id=True`).
For ids that contain no number the exact storage-key lookup the engine does
first is already a complete duplicate check, so the scan only costs time: about
4.4 s per insert at 100k documents. We skip the scan for non-numeric ids and
keep it for numeric ones. Duplicates still raise error 11000.

Upserts that create a document (`patch_sqlite_missing_id_lookup`): an update
by `_id` first tries that exact lookup, but upstream cannot tell "no such
document" from "this shortcut does not apply", so on a miss it compiles a
general query plan, whose feature probes (`json_extract` over every document,
cached only until the next write) scan the collection, and runs it. Creating
a roll-up by upsert took 4.5 ms at 200 documents and 21 ms at 3,200, growing
linearly, while updating an existing one stayed flat. For a string `_id` a
miss of the exact lookup is final, so we answer "no document" there; a hit,
and every other query, goes on to upstream's code.

`tests/store/test_patches.py` fails when upstream changes a method these wrap
or stops needing them, so the patches are revisited on every upgrade.
"""

import functools
from collections.abc import Callable
from typing import Any

from mongoeco import __version__ as mongoeco_version
from mongoeco.core.identity import id_contains_numeric_value
from mongoeco.core.query_plan import EqualsCondition
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.session import ClientSession

PATCHED_VERSION = "4.11.0"

_MARK = "_llmd_skips_non_numeric_id_scan"
_MISSING_ID_MARK = "_llmd_answers_missing_string_ids"

type _Selected = tuple[str, dict[str, Any]] | None


def patch_store() -> bool:
    """Install every fix in this module; False when the version is not 4.11.0."""
    return patch_sqlite_id_scan() and patch_sqlite_missing_id_lookup()


def patch_sqlite_id_scan() -> bool:
    """Install the insert fix once; False when the running version is not 4.11.0."""
    if mongoeco_version != PATCHED_VERSION:
        return False
    original: Callable[..., None] = (
        SQLiteEngine._validate_document_against_unique_indexes
    )
    if getattr(original, _MARK, False):
        return True

    @functools.wraps(original)
    def validate(
        self: SQLiteEngine,
        db_name: str,
        coll_name: str,
        document: dict[str, Any],
        *,
        exclude_storage_key: str | None = None,
        skip_id_check: bool = False,
        scan_payload_id: bool = False,
    ) -> None:
        if scan_payload_id and not id_contains_numeric_value(document.get("_id")):
            scan_payload_id = False
        original(
            self,
            db_name,
            coll_name,
            document,
            exclude_storage_key=exclude_storage_key,
            skip_id_check=skip_id_check,
            scan_payload_id=scan_payload_id,
        )

    setattr(validate, _MARK, True)
    SQLiteEngine._validate_document_against_unique_indexes = validate  # type: ignore[method-assign]  # deliberate, documented above
    return True


def patch_sqlite_missing_id_lookup() -> bool:
    """Install the upsert fix once; False when the running version is not 4.11.0."""
    if mongoeco_version != PATCHED_VERSION:
        return False
    original: Callable[..., _Selected] = SQLiteEngine._select_first_document_for_plan
    if getattr(original, _MISSING_ID_MARK, False):
        return True

    @functools.wraps(original)
    def select_first(
        self: SQLiteEngine,
        db_name: str,
        coll_name: str,
        plan: object,
        *,
        hint: object = None,
        context: ClientSession | None = None,
    ) -> _Selected:
        if (
            hint is None
            and isinstance(plan, EqualsCondition)
            and plan.field == "_id"
            and type(plan.value) is str
        ):
            row = (
                self._require_connection(context)
                .execute(
                    "SELECT 1 FROM documents "
                    "WHERE db_name = ? AND coll_name = ? AND storage_key = ?",
                    (db_name, coll_name, self._storage_key(plan.value)),
                )
                .fetchone()
            )
            if row is None:
                return None
        return original(self, db_name, coll_name, plan, hint=hint, context=context)

    setattr(select_first, _MISSING_ID_MARK, True)
    SQLiteEngine._select_first_document_for_plan = select_first  # type: ignore[method-assign]  # deliberate, documented above
    return True
