"""Single calls sent at the same time are stored together.

`logCall` and the origin's `POST /api/logs` carry one call per request, and
SDKs send many such requests at once. Storing each alone costs the store a
batch marker, an insert and four totals upserts per call. Instead, while one
group of a project's calls is being written, calls of that project arriving
meanwhile wait and are written next as one group (`call_batch.record_group`),
up to `max_group` at a time. A lone call is written at once; under load groups
grow by themselves, with no timer and no added wait beyond the write in
progress. Every request still gets its own answer, and nothing is acknowledged
before its group is stored and counted.
"""

import asyncio
import contextvars
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from app import metrics
from app.documents import Log
from app.errors import AppError
from app.pubsub import Broker
from app.services import calls
from app.services.call_batch import Recorded, record_group
from app.services.call_input import CallIn
from app.services.call_validation import validate_call
from app.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Waiting:
    document: Log
    answer: asyncio.Future[Recorded]


class CallWriter:
    """Groups one process's concurrent single-call writes per project."""

    def __init__(self, broker: Broker, *, max_group: int) -> None:
        self._broker = broker
        self._max_group = max_group
        self._waiting: dict[str, list[_Waiting]] = {}
        self._draining: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def record(self, project_id: str, document: Log) -> Recorded:
        """Store `document` with whatever else of its project is waiting.

        Raises:
            Unavailable: the store failed while writing the group; nothing of
                it is acknowledged, send the call again.
        """
        answer: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(project_id, []).append(_Waiting(document, answer))
        if project_id not in self._draining:
            self._draining.add(project_id)
            # A context of its own: the group serves many requests, so it must
            # not log under the request id of the one that happened to start it.
            task = asyncio.create_task(
                self._drain(project_id), context=contextvars.Context()
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer

    async def _drain(self, project_id: str) -> None:
        try:
            # No await between the last check and leaving `_draining`, so a
            # call queued meanwhile is always picked up by this loop.
            while waiting := self._waiting.pop(project_id, None):
                group, rest = waiting[: self._max_group], waiting[self._max_group :]
                if rest:
                    self._waiting[project_id] = rest
                await self._write(project_id, group)
        finally:
            self._draining.discard(project_id)

    async def _write(self, project_id: str, group: list[_Waiting]) -> None:
        metrics.observe_single_call_group(len(group))
        try:
            answers = await record_group(
                project_id, [waiting.document for waiting in group], self._broker
            )
        except Exception as error:  # every waiter hears of it, none is lost
            for waiting in group:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            return
        for waiting, answer in zip(group, answers, strict=True):
            if waiting.answer.done():  # its request was cancelled meanwhile
                continue
            if isinstance(answer, AppError):
                waiting.answer.set_exception(answer)
            else:
                waiting.answer.set_result(answer)


async def record_call(
    project_id: str, call: CallIn, *, settings: Settings, writer: CallWriter
) -> Recorded:
    """Validate, price and store one call; a repeated id returns the stored call.

    Raises:
        InvalidInput: the call is not valid; the message says how to fix it.
        Unavailable: the store failed; nothing was acknowledged.
    """
    rules = await calls.ingest_rules(project_id, settings)
    document = validate_call(
        call, project_id=project_id, limits=rules.limits, now=datetime.now(UTC)
    )
    calls.price_log(document, rules.custom_prices)
    recorded = await writer.record(project_id, document)
    if recorded.created:
        log.info("call.recorded", project_id=project_id, call_id=document.call_id)
    return recorded
