"""The origin service's log routes, so its JavaScript SDK works unchanged.

`POST /api/logs`, `GET /api/logs` and `GET /api/logs/:id` answer with the
origin's JSON shapes and status codes (see `../shared/ORIGIN.md`), backed by the
same services as GraphQL. The SDK can send no credential but `X-Project-ID`, so
that header carries an ingest (or read) key; `Authorization: Bearer` works too
(`app.http.common.presented_secret`). The key decides the project: the body's
`projectId`, which that SDK fills with the same value, is never read, stored or
logged, and neither is `apiKeyMask`.
"""

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app import metrics
from app.documents import Log
from app.documents.log import MetadataValue, Status
from app.errors import AppError, InvalidInput, NotFound
from app.http.common import caller, error_response
from app.http.ingest import item_error
from app.http.origin_params import count, date_range, instant
from app.services import calls
from app.services.call_input import CallIn
from app.services.call_writer import record_call
from app.services.calls import LogFilter

_DEFAULT_LIMIT = 100
_MAX_SKIP = 10_000
# Where validation names a field differently from the origin's body.
_ORIGIN_FIELDS = {
    "durationMs": "duration",
    "costUsd": "cost",
    "errorType": "error",
    "errorMessage": "error",
}
_STATUSES: dict[str, Status] = {
    "success": "success",
    "error": "error",
    "failed": "error",
}


class OriginLogIn(BaseModel):
    """A log as the origin SDK posts it: camelCase, `duration` in ms, `cost` in USD."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )

    id: str | None = None
    timestamp: datetime | None = None
    environment: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    provider: str | None = None
    model: str | None = None
    prompt: str | list[Any] | dict[str, Any] | None = None
    response: str | list[Any] | dict[str, Any] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    duration: float | None = None
    status: str | None = None
    status_code: int | None = None
    error: dict[str, Any] | str | None = None
    cost: float | None = None
    metadata: dict[str, Any] | None = None
    streaming: bool | None = None

    def to_call(self) -> CallIn:
        error_type, error_message = _error_parts(self.error)
        return CallIn(
            id=self.id,
            timestamp=_as_utc(self.timestamp),
            environment=self.environment,
            provider=self.provider,
            model=self.model,
            user_id=self.user_id,
            session_id=self.session_id,
            metadata=_flat_metadata(self.metadata),
            prompt=_text(self.prompt),
            response=_text(self.response),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
            duration_ms=self.duration,
            streaming=bool(self.streaming),
            status=self.status,
            status_code=self.status_code,
            error_type=error_type,
            error_message=error_message,
            cost_usd=self.cost,
        )


def _as_utc(moment: datetime | None) -> datetime | None:
    # JavaScript's Date.toISOString() always ends in Z; a bare time is read as UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _text(value: str | list[Any] | dict[str, Any] | None) -> str | None:
    # Wrapped chat clients may send the message list itself; keep it as JSON text.
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _error_parts(error: dict[str, Any] | str | None) -> tuple[str | None, str | None]:
    if error is None:
        return None, None
    if isinstance(error, str):
        return None, error
    kind = error.get("type") or error.get("name") or error.get("code")
    message = error.get("message")
    return (
        str(kind) if kind is not None else None,
        str(message) if message is not None else None,
    )


def _flat_metadata(metadata: dict[str, Any] | None) -> dict[str, MetadataValue]:
    # The origin allowed nested metadata; nested values are kept as JSON text so
    # every key stays filterable and nothing is dropped. Nulls carry nothing.
    flat: dict[str, MetadataValue] = {}
    for key, value in (metadata or {}).items():
        if value is None:
            continue
        if isinstance(value, (str, int, float, bool)):
            flat[key] = value
        else:
            flat[key] = json.dumps(value, ensure_ascii=False)
    return flat


def _in_origin_terms(error: InvalidInput) -> InvalidInput:
    field = error.field or ""
    origin_field = _ORIGIN_FIELDS.get(field)
    if origin_field is None:
        return error
    return InvalidInput(error.message.replace(field, origin_field), field=origin_field)


async def create_log(request: Request) -> Response:
    state = request.app.state
    try:
        principal = caller(request, "ingest")
        try:
            origin_log = OriginLogIn.model_validate_json(await request.body())
        except ValidationError as error:
            raise item_error(error) from None
        try:
            recorded = await record_call(
                principal.project_id,
                origin_log.to_call(),
                settings=state.settings,
                writer=state.call_writer,
            )
        except InvalidInput as error:
            metrics.record_rejected("invalid")
            raise _in_origin_terms(error) from None
    except AppError as error:
        return error_response(error, origin=True)
    metrics.observe_batch("origin", 1)
    metrics.record_ingested("origin", 1 if recorded.created else 0)
    body: dict[str, Any] = {"success": True, "id": recorded.log.call_id}
    if not recorded.created:
        body["duplicate"] = True
    return JSONResponse(body, status_code=201 if recorded.created else 200)


async def list_logs(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        principal = caller(request, "read")
        limit = count(request, "limit", _DEFAULT_LIMIT, None)
        if limit < 1:
            raise InvalidInput("limit must be at least 1", field="limit")
        limit = min(limit, settings.max_page_size)
        skip = count(request, "skip", 0, _MAX_SKIP)
        rows, total = await calls.list_logs_by_offset(
            principal.project_id, _log_filter(request), limit=limit, skip=skip
        )
    except AppError as error:
        return error_response(error, origin=True)
    return JSONResponse(
        {
            "logs": [origin_log_json(row) for row in rows],
            "total": total,
            "limit": limit,
            "skip": skip,
        }
    )


async def get_log(request: Request) -> Response:
    try:
        principal = caller(request, "read")
        row = await calls.get_log(principal.project_id, request.path_params["log_id"])
        if row is None:
            raise NotFound("no log with this id in the key's project")
    except AppError as error:
        return error_response(error, origin=True)
    return JSONResponse(origin_log_json(row))


def _log_filter(request: Request) -> LogFilter:
    """The origin's filters; `projectId` is ignored because the key decides."""
    params = request.query_params
    statuses: tuple[Status, ...] = ()
    status = params.get("status")
    if status:
        if status.lower() not in _STATUSES:
            message = f"status must be success, error or failed, got {status!r}"
            raise InvalidInput(message, field="status")
        statuses = (_STATUSES[status.lower()],)
    since, before = date_range(request)
    provider = params.get("provider")
    model = params.get("model")
    return LogFilter(
        start=since,
        end=before,
        providers=(provider.lower(),) if provider else (),
        models=(model,) if model else (),
        statuses=statuses,
    )


def origin_log_json(log: Log) -> dict[str, Any]:
    """A stored call in the origin's log shape, plus the fields it did not have."""
    error = log.error
    return {
        "id": log.call_id,
        "timestamp": instant(log.timestamp),
        "projectId": log.project_id,
        "environment": log.environment,
        "sessionId": log.session_id,
        "userId": log.user_id,
        "provider": log.provider,
        "model": log.model,
        "prompt": log.prompt,
        "response": log.response,
        "promptTokens": log.prompt_tokens,
        "completionTokens": log.completion_tokens,
        "totalTokens": log.total_tokens,
        "duration": log.duration_ms,
        "status": log.status,
        "statusCode": log.status_code,
        "error": {"type": error.type, "message": error.message} if error else None,
        "cost": log.cost_usd,
        "metadata": log.metadata,
        "streaming": log.streaming,
        "costSource": log.cost_source,
        "priceVersion": log.price_version,
        "cachedPromptTokens": log.cached_prompt_tokens,
        "cacheWriteTokens": log.cache_write_tokens,
        "reasoningTokens": log.reasoning_tokens,
        "promptTruncated": log.prompt_truncated,
        "responseTruncated": log.response_truncated,
        "receivedAt": instant(log.received_at),
    }
