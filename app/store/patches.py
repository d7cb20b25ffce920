"""Three minimal fixes for `mongoeco` 4.11.0 that keep writes flat as data grows.

Each applies only to the pinned release (`PATCHED_VERSION`); the store child
installs them with `install_store_patches()` before it creates its engine. None
changes what a MongoDB client sees except speed. `tests/store/test_patches.py`
fails when upstream changes the code a fix wraps or stops being slow on its own,
so each fix is revisited on every upgrade.

1. `_id` scan on insert (`patch_sqlite_id_scan`). Upstream, a single-document
   insert asks the engine to compare the new `_id` with every stored `_id`
   (`scan_payload_id=True`), because numeric ids need logical equality
   (`1 == 1.0`). For ids that contain no number the exact storage-key lookup the
   engine does first is already a complete duplicate check, so the scan only
   costs time: about 4.4 s per insert at 100k documents. We skip the scan for
   non-numeric ids and keep it for numeric ones. Duplicates still raise 11000.

2. Wire `insert` one document at a time (`patch_wire_insert_batches`). The
   `insert` command loops `insert_one`, so a 1,000-document `insert_many` costs
   1,000 engine writes, each with its own transaction, change-outbox commits and
   dispatch thread; the engine's batch path (what in-process `insert_many` uses)
   does the same work in one transaction, 3-4 times faster. We send the command's
   documents through that batch path (ordered, so it stops at the first document
   it cannot store), 256 at a time: one transaction then holds SQLite's write
   lock for a fraction of a second, far from the 5 s after which the engine's
   own background connections give up ("database is locked"). Any document the batch path does not store is then inserted
   the upstream way, by `insert_one`, and its error recorded by upstream's own
   code, so each write error (index, code 11000, message, key pattern and value)
   is the one upstream reports. `ordered=True` stops there; `ordered=False`
   resumes batching after it. That is safe because the batch path stores
   exactly the prefix of documents that `insert_one` would have stored: the same
   id, validator, unique-index and index-key checks, run in one transaction that
   rolls back whole on any other error. If the batch path raises anything but a
   write error, the rest of the command runs the upstream way. We count the
   stored documents from the batch path's per-document commit notices, and add
   one to `serverStatus().opcounters.insert` per document, as upstream does. One
   document, a multi-document transaction or an active profiler (which records
   each `insert_one`) keep the upstream loop.

3. Collection scan when an `_id` is missing (`patch_sqlite_missing_id_lookup`).
   To find the one document an update, upsert, replacement or `delete_one` with
   `{"_id": <string>}` acts on, the engine looks the id's storage key up first;
   when no such row exists, upstream then plans and runs a general SQL query for
   the same condition, with five collection scans of its planner (decimal and
   array probes) on the way. So an upsert that creates a document slows with the
   collection (4 ms at 200 documents, 13 ms at 1,600) while one that updates
   stays flat. A string `_id` is stored as JSON text under the key
   `repr((str, value))`, and no other BSON type is stored as JSON text, so the
   general query can only find rows the key lookup already ruled out. For a
   plain string `_id` without a hint we answer "no document" when the key is
   absent; numbers, documents, hints and found rows go to upstream unchanged.

What these leave slow: a `find`/`find_one` for a missing `_id` (the read path
runs its general query after any miss), and `update_many`/`delete_many` with
`{"_id": {"$in": [...]}}` or any other non-equality filter: each scans the
collection. The per-document change-outbox bookkeeping (an outbox row and a
consumer checkpoint commit per stored document) stays too; it is constant per
document, not growing with the collection.
"""

from collections.abc import Callable, Coroutine
from typing import Any, cast

from mongoeco import __version__ as mongoeco_version
from mongoeco._types.documents import WriteCommandResult
from mongoeco.api._async._collection_insert import execute_insert_many
from mongoeco.api._async._database_admin_write_commands import (
    DatabaseAdminWriteCommandService,
    _write_command_result,
)
from mongoeco.api._async._write_command_validation import write_command_acknowledged
from mongoeco.api._async._write_failures import (
    record_write_failure as _record_write_failure,
)
from mongoeco.api._command_bson import command_boolean as _command_boolean
from mongoeco.core.identity import id_contains_numeric_value
from mongoeco.core.query_plan import EqualsCondition
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.errors import BulkWriteError, OperationFailure, WriteError

PATCHED_VERSION = "4.11.0"

_MARK = "_llmd_store_patch"

# Upstream's methods as imported, before any patch: tests and the benchmark put
# them back to compare.
UPSTREAM_VALIDATE_UNIQUE = SQLiteEngine._validate_document_against_unique_indexes
UPSTREAM_COMMAND_INSERT = DatabaseAdminWriteCommandService.command_insert
UPSTREAM_SELECT_FIRST = SQLiteEngine._select_first_document_for_plan

# Upstream's helpers carry no annotations; these names give them one.
command_boolean: Callable[..., bool] = _command_boolean
record_write_failure: Callable[..., Exception | None] = _record_write_failure

# Errors upstream's `command_insert` records per document instead of failing.
_WRITE_FAILURES = (WriteError, OperationFailure, TypeError, ValueError)

# Documents per engine write: one transaction holds the write lock ~0.2 s.
_BATCH_LIMIT = 256

_FIND_BY_STORAGE_KEY = (
    "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? AND storage_key = ?"
)


def install_store_patches() -> bool:
    """Install every fix once; return False when mongoeco is not 4.11.0."""
    return all(
        (
            patch_sqlite_id_scan(),
            patch_wire_insert_batches(),
            patch_sqlite_missing_id_lookup(),
        )
    )


def remove_store_patches() -> None:
    """Put upstream's methods back (for comparisons in tests and the benchmark)."""
    SQLiteEngine._validate_document_against_unique_indexes = UPSTREAM_VALIDATE_UNIQUE  # type: ignore[method-assign]
    DatabaseAdminWriteCommandService.command_insert = UPSTREAM_COMMAND_INSERT  # type: ignore[method-assign]
    SQLiteEngine._select_first_document_for_plan = UPSTREAM_SELECT_FIRST  # type: ignore[method-assign]


def _install(owner: type, name: str, build: Callable[[Any], Any]) -> bool:
    if mongoeco_version != PATCHED_VERSION:
        return False
    current = getattr(owner, name)
    if not getattr(current, _MARK, False):
        replacement = build(current)
        setattr(replacement, _MARK, True)
        setattr(owner, name, replacement)  # deliberate, documented above
    return True


# 1. `_id` scan on insert


def patch_sqlite_id_scan() -> bool:
    """Skip the `_id` scan for non-numeric ids; False when not on 4.11.0."""
    return _install(
        SQLiteEngine, "_validate_document_against_unique_indexes", _skip_id_scan
    )


def _skip_id_scan(original: Callable[..., None]) -> Callable[..., None]:
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

    return validate


# 2. Wire `insert` one document at a time

type _CommandInsert = Callable[..., Coroutine[Any, Any, object]]


def patch_wire_insert_batches() -> bool:
    """Run the wire `insert` command through the batch path; False when not on 4.11.0."""
    return _install(DatabaseAdminWriteCommandService, "command_insert", _batch_inserts)


def _batch_inserts(original: _CommandInsert) -> _CommandInsert:
    async def command_insert(
        self: DatabaseAdminWriteCommandService,
        spec: dict[str, object],
        *,
        session: Any = None,
    ) -> object:
        # The same parsing, in the same order, so a malformed command fails
        # exactly as upstream's does.
        admin = self._admin
        collection_name = admin._require_collection_name(spec.get("insert"), "insert")
        documents = admin._normalize_insert_documents(spec.get("documents"))
        ordered = admin._normalize_ordered_from_command(spec.get("ordered"))
        bypass = command_boolean(
            spec.get("bypassDocumentValidation", False),
            "bypassDocumentValidation",
            numeric=True,
        )
        acknowledged = write_command_acknowledged(
            spec, dialect=admin._mongodb_dialect.key
        )
        collection = admin._database.get_collection(collection_name)
        if not _batches_apply(collection, documents, session):
            return await original(self, spec, session=session)

        inserted, write_errors, failure = await _insert_in_batches(
            collection, documents, ordered=ordered, bypass=bypass, session=session
        )
        if failure is not None:
            raise failure
        return _write_command_result(
            WriteCommandResult(count=inserted, write_errors=write_errors or None),
            acknowledged=acknowledged,
        )

    return command_insert


def _batches_apply(collection: Any, documents: list[Any], session: Any) -> bool:
    if len(documents) < 2:
        return False
    if session is not None and session.in_transaction:
        return False
    profiling = getattr(collection._engine, "_profile_is_active", None)
    return callable(profiling) and not profiling(collection._db_name)


class _BatchView:
    """The collection as the batch insert sees it.

    It counts the documents the batch stored (the batch path notifies each one
    after its commit) and leaves the profiler hook out: with profiling off that
    hook only bumps `opcounters.insert`, which `_insert_in_batches` does per
    document instead of per batch.
    """

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.stored = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def _profile_operation(self, **_: object) -> None:
        return None

    def _notify_instrumented_insert_outcome(
        self, outcome: Any, *, session: Any
    ) -> None:
        self.stored += 1
        self._collection._notify_instrumented_insert_outcome(outcome, session=session)


async def _insert_in_batches(
    collection: Any, documents: list[Any], *, ordered: bool, bypass: bool, session: Any
) -> tuple[int, list[Any], Exception | None]:
    """Store `documents` as upstream's loop would; return its count, errors, failure."""
    inserted = 0
    write_errors: list[Any] = []
    failure: Exception | None = None
    batching = True
    position = 0
    while position < len(documents):
        if batching:
            view = _BatchView(collection)
            chunk = documents[position : position + _BATCH_LIMIT]
            try:
                await execute_insert_many(
                    cast(Any, view),
                    chunk,
                    ordered=True,
                    bypass_document_validation=bypass,
                    session=session,
                    comment=None,
                )
            except BulkWriteError:
                pass  # the stored prefix is counted; the next document failed
            except Exception:
                batching = False  # unexpected: the rest goes the upstream way
            collection._engine._record_runtime_opcounter("insert", amount=view.stored)
            inserted += view.stored
            position += view.stored
            if view.stored == len(chunk):
                continue

        # Upstream's own path for this document, and its own error record.
        try:
            await collection.insert_one(
                documents[position], bypass_document_validation=bypass, session=session
            )
            inserted += 1
        except _WRITE_FAILURES as error:
            failure = record_write_failure(
                write_errors, error, index=position, first_failure=failure
            )
            if ordered:
                break
        position += 1
    return inserted, write_errors, failure


# 3. Collection scan when an `_id` is missing

# TODO: `update_many`/`delete_many` by `_id` `$in` and `find` of a missing `_id` still scan the collection; answering plain-string ids from storage keys would fix both.
# The service avoids both on large collections (a missing `_id` is looked up only
# among `PendingTotals`, which holds just the batches still being counted).


def patch_sqlite_missing_id_lookup() -> bool:
    """Answer a missing string `_id` from its key; False when not on 4.11.0."""
    return _install(
        SQLiteEngine, "_select_first_document_for_plan", _answer_missing_ids
    )


def _answer_missing_ids(original: Callable[..., Any]) -> Callable[..., Any]:
    def select_first(
        self: SQLiteEngine,
        db_name: str,
        coll_name: str,
        plan: object,
        *,
        hint: object = None,
        context: Any = None,
    ) -> Any:
        if (
            hint is None
            and isinstance(plan, EqualsCondition)
            and plan.field == "_id"
            and type(plan.value) is str
        ):
            conn = self._require_connection(context)
            key = self._storage_key(plan.value)
            if (
                conn.execute(_FIND_BY_STORAGE_KEY, (db_name, coll_name, key)).fetchone()
                is None
            ):
                return None
        return original(self, db_name, coll_name, plan, hint=hint, context=context)

    return select_first
