"""`POST /v1/traces`: OTLP/HTTP trace export, protobuf or JSON, gzip or not.

Each generative-AI span becomes a call (`app.services.otlp`); other spans are
counted and skipped. The answer follows the OTLP/HTTP specification
(https://opentelemetry.io/docs/specs/otlp/#otlphttp-response): 200 with an
`ExportTraceServiceResponse` in the request's encoding, carrying
`partial_success` when some model-call spans were rejected (exporters must not
resend those), and a `google.rpc.Status` body for a request that fails as a
whole. A store failure answers 503 with `Retry-After`, which exporters retry;
span-derived call ids make the retry idempotent.
"""

from collections.abc import Sequence

import structlog
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from starlette.requests import Request
from starlette.responses import Response

from app.errors import AppError
from app.http.body import read_body
from app.http.common import caller
from app.services.call_batch import ItemResult, record_calls
from app.services.otlp import OtlpBatch, parse_otlp_traces
from app.settings import Settings

log = structlog.get_logger(__name__)

_JSON = "application/json"
_PROTOBUF = "application/x-protobuf"
_MAX_REASONS = 5
_RPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    409: code_pb2.ABORTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


async def post_traces(request: Request) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    content_type = request.headers.get("content-type", "")
    answer_json = content_type.partition(";")[0].strip().lower() == _JSON
    try:
        principal = caller(request, "ingest")
        body = await read_body(
            request, max_decompressed_bytes=settings.max_decompressed_bytes
        )
        export = parse_otlp_traces(body, content_type=content_type)
        results: list[ItemResult] = []
        # A large export is stored in batches of the configured size.
        for start in range(0, len(export.calls), settings.max_batch_size):
            chunk = export.calls[start : start + settings.max_batch_size]
            batch = await record_calls(
                principal.project_id, chunk, settings=settings, broker=state.broker
            )
            results.extend(batch.items)
    except AppError as error:
        return _status_response(error, answer_json=answer_json)

    response = ExportTraceServiceResponse()
    reasons = _rejection_reasons(export, results)
    if reasons:
        response.partial_success.rejected_spans = len(reasons)
        response.partial_success.error_message = _summary(reasons)
    log.info(
        "otlp.received",
        project_id=principal.project_id,
        spans=export.total_spans,
        skipped=export.skipped_spans,
        rejected=len(reasons),
    )
    return _message_response(response, answer_json=answer_json, status_code=200)


def _rejection_reasons(export: OtlpBatch, results: Sequence[ItemResult]) -> list[str]:
    reasons = [f"span {span.span_id}: {span.reason}" for span in export.rejected]
    reasons.extend(
        f"span {item.call_id}: {item.message}"
        for item in results
        if item.outcome == "rejected"
    )
    return reasons


def _summary(reasons: list[str]) -> str:
    shown = "; ".join(reasons[:_MAX_REASONS])
    more = len(reasons) - _MAX_REASONS
    suffix = f"; and {more} more" if more > 0 else ""
    return f"{len(reasons)} model-call spans rejected: {shown}{suffix}"


def _status_response(error: AppError, *, answer_json: bool) -> Response:
    status = Status(
        code=_RPC_CODES.get(error.http_status, code_pb2.UNKNOWN),
        message=error.message,
    )
    response = _message_response(
        status, answer_json=answer_json, status_code=error.http_status
    )
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    return response


def _message_response(
    message: Message, *, answer_json: bool, status_code: int
) -> Response:
    if answer_json:
        return Response(
            json_format.MessageToJson(message, indent=None),
            status_code=status_code,
            media_type=_JSON,
        )
    return Response(
        message.SerializeToString(), status_code=status_code, media_type=_PROTOBUF
    )
