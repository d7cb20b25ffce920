"""A minimal fix for `mongoeco` 4.11.0 that keeps inserts constant-time.

Upstream, a single-document insert asks the engine to compare the new `_id` with
every stored `_id` (`scan_payload_id=True`), because numeric ids need logical
equality (`1 == 1.0`). For ids that contain no number the exact storage-key
lookup the engine does first is already a complete duplicate check, so the scan
only costs time: about 4.4 s per insert at 100k documents on SQLite. Our `_id`s
are strings (`"<project>:<call id>"`), so we skip the scan for non-numeric ids
and keep it for numeric ones. Duplicates still raise error 11000.

`tests/store/test_patches.py` fails when upstream changes the method this wraps
or stops scanning on its own, so the patch is revisited on every upgrade.
"""

from collections.abc import Callable
from typing import Any

from mongoeco import __version__ as mongoeco_version
from mongoeco.core.identity import id_contains_numeric_value
from mongoeco.engines.sqlite import SQLiteEngine

PATCHED_VERSION = "4.11.0"

_MARK = "_llmd_skips_non_numeric_id_scan"
_ORIGINAL = SQLiteEngine._validate_document_against_unique_indexes


def patch_sqlite_id_scan() -> bool:
    """Install the fix once; return False when the running version is not 4.11.0."""
    if mongoeco_version != PATCHED_VERSION:
        return False
    original: Callable[..., None] = (
        SQLiteEngine._validate_document_against_unique_indexes
    )
    if getattr(original, _MARK, False):
        return True

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
