"""`POST /v1/logs`: the plain JSON batch endpoint for SDKs.

Body: `{"logs": [call, ...]}`, each call with the fields of GraphQL's
`LogCallInput`, named in camelCase (`promptTokens`) or snake_case
(`prompt_tokens`). The answer is 200 when no call was rejected and 207 when
some were, with one result per call in the order sent. Whole-request failures:
400 for a body that is not that JSON shape, 401/403 for the key, 413 for a body
or batch over the limits, 503 when the store failed (nothing acknowledged).

It costs far less CPU per call than GraphQL: the whole body is validated by
pydantic in one pass, and only when that fails are items read one by one to
find which are bad.
"""

import json
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import AppError, InvalidInput
from app.http.body import read_body
from app.http.common import caller, error_response
from app.services.call_batch import (
    BatchResult,
    UnreadableCall,
    check_batch_size,
    record_calls,
)
from app.services.call_input import CallIn
from app.settings import Settings

_SHAPE_HINT = 'send a JSON object {"logs": [...]} with one object per call'


class _LogsBody(BaseModel):
    logs: list[CallIn]


async def post_logs(request: Request) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    try:
        principal = caller(request, "ingest")
        body = await read_body(
            request, max_decompressed_bytes=settings.max_decompressed_bytes
        )
        calls = read_calls(body, settings)
        batch = await record_calls(
            principal.project_id, calls, settings=settings, broker=state.broker
        )
    except AppError as error:
        return error_response(error)
    status_code = 207 if batch.count("rejected") else 200
    return JSONResponse(batch_json(batch), status_code=status_code)


def read_calls(body: bytes, settings: Settings) -> list[CallIn | UnreadableCall]:
    """The calls of a `{"logs": [...]}` body; unreadable items become rejections."""
    try:
        calls: list[CallIn | UnreadableCall] = list(
            _LogsBody.model_validate_json(body).logs
        )
    except ValidationError:
        calls = _read_one_by_one(body, settings)
    check_batch_size(len(calls), settings, field="logs")
    return calls


def _read_one_by_one(body: bytes, settings: Settings) -> list[CallIn | UnreadableCall]:
    try:
        document = json.loads(body)
    except ValueError as error:
        message = f"the body is not valid JSON ({error}); {_SHAPE_HINT}"
        raise InvalidInput(message, field="body") from None
    items = document.get("logs") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(_SHAPE_HINT, field="logs")
    check_batch_size(len(items), settings, field="logs")

    calls: list[CallIn | UnreadableCall] = []
    for item in items:
        try:
            calls.append(CallIn.model_validate(item))
        except ValidationError as error:
            calls.append(
                UnreadableCall(call_id=_sent_id(item), error=item_error(error))
            )
    return calls


def _sent_id(item: Any) -> str | None:
    call_id = item.get("id") if isinstance(item, dict) else None
    return call_id if isinstance(call_id, str) else None


def item_error(error: ValidationError) -> InvalidInput:
    """The first problem pydantic found in one call, named by its camelCase field."""
    first = error.errors(include_url=False)[0]
    location = first["loc"]
    if not location:
        return InvalidInput("each call must be a JSON object", field=None)
    field = to_camel(str(location[0]))
    if field == "metadata" and len(location) > 1:
        message = (
            f"metadata must be a flat object of string, number and boolean values; "
            f"key {str(location[1])[:80]!r} is not"
        )
        return InvalidInput(message, field=field)
    detail = first["msg"]
    if len(location) > 1:
        detail = f"{detail} (at {'.'.join(str(part) for part in location[1:])})"
    return InvalidInput(f"{field}: {detail}", field=field)


def batch_json(batch: BatchResult) -> dict[str, Any]:
    """The JSON answer for a batch: counts, then one result per call in order."""
    results: list[dict[str, Any]] = []
    for item in batch.items:
        result: dict[str, Any] = {
            "index": item.index,
            "id": item.call_id,
            "status": item.outcome,
        }
        if item.outcome == "rejected":
            error: dict[str, Any] = {"code": item.code, "message": item.message}
            if item.field is not None:
                error["field"] = item.field
            result["error"] = error
        results.append(result)
    return {
        "stored": batch.count("stored"),
        "duplicates": batch.count("duplicate"),
        "rejected": batch.count("rejected"),
        "results": results,
    }
