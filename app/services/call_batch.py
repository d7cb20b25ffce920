"""Record a batch of calls: one validation pass, one insert, one totals update.

Every ingest route that carries more than one call (GraphQL `logCalls`,
`POST /v1/logs`, OTLP) ends here. The batch costs a fixed number of store round
trips whatever its size: read the project's rules, open the batch
(`pending_totals`), `insert_many(ordered=False)`, and `apply_totals` (one bulk
write per total, then closing the batch), plus two lookups when some ids were
stored before.

Each item gets its own outcome:

- `stored`: written by this request;
- `duplicate`: its id was stored before, or earlier in the same batch; the
  stored call is kept unchanged (retries are safe);
- `rejected`: not stored, with the error code and a message that says how to
  fix it.

When the store fails during the insert or the totals update, the whole batch
fails with `Unavailable` and nothing is reported stored: the driver cannot tell
which documents of an interrupted `insert_many` were written. Sending the same
batch again is safe, because calls with ids come back as `duplicate` and a
stored call whose batch is still open gets counted then.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pymongo.errors import BulkWriteError

from app.documents import Log
from app.errors import AppError, InvalidInput, PayloadTooLarge, Unavailable
from app.pubsub import Broker
from app.services.call_input import CallIn
from app.services.call_validation import validate_call
from app.services.calls import (
    IngestRules,
    apply_totals,
    ingest_rules,
    price_log,
    publish_calls,
)
from app.services.lookups import find_by_ids
from app.services.pending_totals import (
    close_batch,
    new_batch_id,
    open_batch,
    uncounted,
)
from app.services.store_errors import store_errors
from app.settings import Settings

log = structlog.get_logger(__name__)

Outcome = Literal["stored", "duplicate", "rejected"]

_DUPLICATE_KEY = 11000


@dataclass(frozen=True, slots=True)
class UnreadableCall:
    """An item a route could not turn into a `CallIn`, and why."""

    call_id: str | None
    error: InvalidInput


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to one item of a batch; `index` is its position in the batch."""

    index: int
    call_id: str | None
    outcome: Outcome
    code: str | None = None
    message: str | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One result per item, in the order the items were sent."""

    items: list[ItemResult]

    def count(self, outcome: Outcome) -> int:
        return sum(item.outcome == outcome for item in self.items)


def check_batch_size(size: int, settings: Settings, *, field: str) -> None:
    """Refuse a batch with more items than `max_batch_size`."""
    if size > settings.max_batch_size:
        message = (
            f"{size} calls sent in one batch; the limit is {settings.max_batch_size}. "
            "Split the batch and send the parts separately"
        )
        raise PayloadTooLarge(message, field=field)


def _rejected(index: int, call_id: str | None, error: AppError) -> ItemResult:
    return ItemResult(
        index=index,
        call_id=call_id,
        outcome="rejected",
        code=error.code,
        message=error.message,
        field=error.field,
    )


async def record_calls(
    project_id: str,
    calls: Sequence[CallIn | UnreadableCall],
    *,
    settings: Settings,
    broker: Broker,
) -> BatchResult:
    """Validate, price, store and publish a batch; see the module docstring."""
    rules = await ingest_rules(project_id, settings)
    results, pending = _prepare(calls, project_id=project_id, rules=rules)
    stored = (
        (await _store(project_id, pending, results, broker)).stored if pending else []
    )
    if stored:
        # One broker message for the whole batch, in the order sent.
        await publish_calls(project_id, stored, broker)

    batch = BatchResult(items=[results[index] for index in range(len(calls))])
    log.info(
        "calls.recorded",
        project_id=project_id,
        stored=len(stored),
        duplicates=batch.count("duplicate"),
        rejected=batch.count("rejected"),
    )
    return batch


@dataclass(frozen=True, slots=True)
class _Stored:
    stored: list[Log]  # written by this request
    repeated: list[Log]  # stored before, as read back


async def _store(
    project_id: str,
    pending: list[tuple[int, Log]],
    results: dict[int, ItemResult],
    broker: Broker,
) -> _Stored:
    """Store the validated calls as one batch and count them."""
    batch_id = new_batch_id()
    for _, document in pending:
        document.totals_batch = batch_id
    await open_batch(project_id, batch_id, [document.id for _, document in pending])
    failures = await _insert([document for _, document in pending])
    stored, repeated_ids = _sort_out(pending, failures, results, project_id)

    # Calls a failed earlier request stored without finishing their totals.
    # TODO: two requests racing with the same new id can both add its totals (the second finds its batch open while the first is still counting); a conditional claim on the batch would close it.
    repeated = await _read_repeated(repeated_ids)
    unfinished = await uncounted(repeated)
    if stored or unfinished:
        await apply_totals(stored + unfinished, batch_id=batch_id, broker=broker)
    else:
        await close_batch(batch_id)
    return _Stored(stored=stored, repeated=repeated)


def _prepare(
    calls: Sequence[CallIn | UnreadableCall], *, project_id: str, rules: IngestRules
) -> tuple[dict[int, ItemResult], list[tuple[int, Log]]]:
    """Results for the items refused before any write, and the priced calls to insert."""
    now = datetime.now(UTC)
    results: dict[int, ItemResult] = {}
    pending: list[tuple[int, Log]] = []
    seen: set[str] = set()
    for index, call in enumerate(calls):
        if isinstance(call, UnreadableCall):
            results[index] = _rejected(index, call.call_id, call.error)
            continue
        try:
            document = validate_call(
                call, project_id=project_id, limits=rules.limits, now=now
            )
        except InvalidInput as error:
            results[index] = _rejected(index, call.id, error)
            continue
        if document.id in seen:
            results[index] = ItemResult(index, document.call_id, "duplicate")
            continue
        seen.add(document.id)
        price_log(document, rules.custom_prices)
        pending.append((index, document))
    return results, pending


def _sort_out(
    pending: list[tuple[int, Log]],
    failures: dict[int, int],
    results: dict[int, ItemResult],
    project_id: str,
) -> tuple[list[Log], list[str]]:
    """Record each inserted call's outcome; return the stored calls and repeated ids."""
    stored: list[Log] = []
    repeated_ids: list[str] = []
    for position, (index, document) in enumerate(pending):
        write_error = failures.get(position)
        if write_error is None:
            stored.append(document)
            results[index] = ItemResult(index, document.call_id, "stored")
        elif write_error == _DUPLICATE_KEY:
            repeated_ids.append(document.id)
            results[index] = ItemResult(index, document.call_id, "duplicate")
        else:
            log.warning("call.write_refused", project_id=project_id, code=write_error)
            message = (
                f"the store refused this call (error {write_error}) and did not "
                "store it; send it again"
            )
            results[index] = _rejected(index, document.call_id, Unavailable(message))
    return stored, repeated_ids


async def _insert(documents: list[Log]) -> dict[int, int]:
    """Insert in one unordered `insert_many`; return the error code per failed position."""
    if not documents:
        return {}
    rows = [document.model_dump(by_alias=True) for document in documents]
    with store_errors("record_calls"):
        try:
            await Log.get_pymongo_collection().insert_many(rows, ordered=False)
        except BulkWriteError as error:
            details: Mapping[str, Any] = error.details
            if details.get("writeConcernErrors"):
                # Written, but not as durably as the client was promised.
                message = (
                    "the store did not confirm the batch as durable; nothing was "
                    "acknowledged, send the same batch again"
                )
                raise Unavailable(message) from error
            return {
                int(write_error["index"]): int(write_error["code"])
                for write_error in details.get("writeErrors", [])
            }
    return {}


async def _read_repeated(call_keys: list[str]) -> list[Log]:
    """The calls stored before under `call_keys`, as they are stored."""
    if not call_keys:
        return []
    with store_errors("find_uncounted"):
        return await find_by_ids(Log, call_keys)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The stored call, and whether this request stored it (False for a retry)."""

    log: Log
    created: bool


async def record_group(
    project_id: str, documents: Sequence[Log], broker: Broker
) -> list[Recorded | AppError]:
    """Store calls validated one request each as one batch, then answer each request.

    Each gets the stored call and whether it stored it; a repeated id (stored
    before, or sent by another request of the group) gets the call stored
    first, with `created` False; a call the store refused gets the error.
    """
    results: dict[int, ItemResult] = {}
    first_of: dict[str, int] = {}
    pending: list[tuple[int, Log]] = []
    for index, document in enumerate(documents):
        if document.id not in first_of:
            first_of[document.id] = index
            pending.append((index, document))
    written = await _store(project_id, pending, results, broker)
    if written.stored:
        await publish_calls(project_id, written.stored, broker)

    by_id = {document.id: document for document in written.repeated + written.stored}
    refused = {
        documents[index].id: Unavailable(result.message or "the store refused it")
        for index, result in results.items()
        if result.outcome == "rejected"
    }

    answers: list[Recorded | AppError] = []
    for index, document in enumerate(documents):
        found = by_id.get(document.id)
        if document.id in refused:
            answers.append(refused[document.id])
        elif found is None:  # pragma: no cover - deleted between insert and read
            answers.append(Unavailable("the call was deleted meanwhile; send it again"))
        else:
            created = first_of[document.id] == index and found is document
            answers.append(Recorded(log=found, created=created))
    return answers
