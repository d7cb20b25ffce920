"""Turn an OTLP/HTTP trace export into LLM call records.

The body is an `ExportTraceServiceRequest`, binary protobuf or OTLP JSON
(https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding). Each span is
reduced once to its ids, times, status and one flat attribute dict, then mapped
onto `CallIn` from the OpenTelemetry GenAI semantic conventions (current and
older attribute names side by side) or from OpenInference's names.

A span that is not a model call (an HTTP request, a tool or agent step) is
counted as skipped. A model call that cannot become a record (no model, no
valid ids) is rejected with a reason, so the route can report a partial success.
Call ids are `"<trace id>-<span id>"` in lowercase hex, so an exporter's retry
of the same spans is idempotent.

Token counts pass through as reported. Some Anthropic instrumentations report
`input_tokens` without the cache tokens; nothing here corrects that.
"""

import base64
import binascii
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from app.errors import InvalidInput
from app.services.call_input import CallIn

AttributeValue = str | bool | int | float | tuple[str | bool | int | float, ...]
Attributes = dict[str, AttributeValue]

_PROTOBUF_MEDIA_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_MEDIA_TYPE = "application/json"
_STATUS_CODE_ERROR = 2
_TRACE_ID_BYTES = 16
_SPAN_ID_BYTES = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Operations that describe agent, tool or retrieval steps, not model calls. Their
# spans often repeat the usage of the model calls beneath them, so recording
# them would count tokens and cost twice.
_NON_CALL_OPERATIONS = frozenset(
    {
        "invoke_agent",
        "create_agent",
        "invoke_workflow",
        "execute_tool",
        "retrieval",
        "plan",
        "search_memory",
        "create_memory",
        "update_memory",
        "delete_memory",
        "upsert_memory",
    }
)
_MODEL_SPAN_KINDS = frozenset({"LLM", "EMBEDDING"})
_GENAI_MARKERS = (
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
)

# Each tuple lists the names for one field, preferred first.
_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_MODEL = (
    "gen_ai.response.model",
    "llm.response.model_name",
    "llm.model_name",
    "gen_ai.request.model",
    "llm.request.model_name",
    "embedding.model_name",
)
_REQUEST_MODEL = ("gen_ai.request.model", "llm.request.model_name")
_PROMPT_TOKENS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
)
_COMPLETION_TOKENS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
_TOTAL_TOKENS = (
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "llm.token_count.total",
)
_CACHE_READ_TOKENS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_CACHE_WRITE_TOKENS = (
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
_REASONING_TOKENS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
_SESSION = ("gen_ai.conversation.id", "session.id")
_USER = ("user.id", "enduser.id")
_HTTP_STATUS = ("http.response.status_code", "http.status_code")
_TIME_TO_FIRST_CHUNK_S = (
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.response.time_to_first_token",
)
_STREAMING = ("gen_ai.request.stream", "llm.is_streaming")
_PROMPT_TEXT = ("gen_ai.input.messages", "input.value")
_RESPONSE_TEXT = ("gen_ai.output.messages", "output.value")
_COST_USD = ("llm.cost.total",)
_FINISH_REASONS = ("gen_ai.response.finish_reasons", "llm.finish_reason")
_ENVIRONMENT = ("deployment.environment.name", "deployment.environment")

# Non-sensitive request and response details kept as metadata. Keys have no
# dots: MongoDB queries address a dotted key as a nested path.
_METADATA = (
    ("gen_ai.request.temperature", "temperature"),
    ("gen_ai.request.top_p", "top_p"),
    ("gen_ai.request.max_tokens", "max_tokens"),
    ("gen_ai.request.reasoning.level", "reasoning_level"),
    ("gen_ai.response.id", "response_id"),
    ("gen_ai.prompt.name", "prompt_name"),
    ("gen_ai.prompt.version", "prompt_version"),
    ("gen_ai.agent.name", "agent_name"),
    ("server.address", "server_address"),
)


@dataclass(frozen=True, slots=True)
class RejectedSpan:
    """A model-call span that could not become a record, and why."""

    span_id: str
    reason: str


@dataclass(slots=True)
class OtlpBatch:
    """The calls found in one export, with counts of what was left out."""

    calls: list[CallIn] = field(default_factory=list)
    skipped_spans: int = 0
    rejected: list[RejectedSpan] = field(default_factory=list)
    total_spans: int = 0


@dataclass(frozen=True, slots=True)
class _Resource:
    environment: str | None
    service_name: str | None


@dataclass(slots=True)
class _Span:
    """One span reduced to what the mapping reads, whatever its encoding."""

    trace_id: str
    span_id: str
    start_ns: int
    end_ns: int
    failed: bool
    status_message: str | None
    exception_type: str | None
    exception_message: str | None
    attributes: Attributes


def parse_otlp_traces(body: bytes, *, content_type: str) -> OtlpBatch:
    """Map the spans of an OTLP/HTTP trace export onto call records.

    Raises:
        InvalidInput: the content type is not protobuf or JSON, or the body
            cannot be decoded as an `ExportTraceServiceRequest`.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type in _PROTOBUF_MEDIA_TYPES:
        spans = _read_protobuf(body)
    elif media_type == _JSON_MEDIA_TYPE:
        spans = _read_json(body)
    else:
        raise InvalidInput(
            f"unsupported content type {content_type!r}; send OTLP traces as "
            "application/x-protobuf or application/json",
            field="content_type",
        )

    batch = OtlpBatch()
    for resource, span in spans:
        batch.total_spans += 1
        if not _is_model_call(span.attributes):
            batch.skipped_spans += 1
            continue
        call = _to_call(span, resource)
        if isinstance(call, RejectedSpan):
            batch.rejected.append(call)
        else:
            batch.calls.append(call)
    return batch


def _is_model_call(attributes: Attributes) -> bool:
    operation = attributes.get("gen_ai.operation.name")
    if operation is not None:
        return operation not in _NON_CALL_OPERATIONS

    # OpenInference requires a kind on every span; only two kinds call a model.
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str):
        return kind.upper() in _MODEL_SPAN_KINDS

    return any(key in attributes for key in _GENAI_MARKERS)


def _to_call(span: _Span, resource: _Resource) -> CallIn | RejectedSpan:
    attributes = span.attributes
    if not span.trace_id or not span.span_id:
        return RejectedSpan(span.span_id, "span has no valid trace id or span id")
    model = _first_str(attributes, _MODEL)
    if model is None:
        return RejectedSpan(
            span.span_id,
            "model call without a model: set gen_ai.response.model, "
            "gen_ai.request.model or llm.model_name",
        )

    duration_ms = None
    if 0 < span.start_ns <= span.end_ns:
        duration_ms = (span.end_ns - span.start_ns) / 1_000_000
    first_chunk_s = _first_float(attributes, _TIME_TO_FIRST_CHUNK_S)

    error_type = _first_str(attributes, ("error.type",))
    failed = span.failed or error_type is not None
    error_message = None
    if failed:
        error_type = error_type or span.exception_type
        error_message = span.status_message or span.exception_message

    return CallIn(
        id=f"{span.trace_id}-{span.span_id}",
        timestamp=_datetime(span.start_ns),
        environment=resource.environment,
        provider=_first_str(attributes, _PROVIDER),
        model=model,
        operation=_operation(attributes),
        user_id=_first_str(attributes, _USER),
        session_id=_first_str(attributes, _SESSION),
        tags=_tags(attributes),
        metadata=_metadata(attributes, model, resource),
        prompt=_first_text(attributes, _PROMPT_TEXT),
        response=_first_text(attributes, _RESPONSE_TEXT),
        prompt_tokens=_first_int(attributes, _PROMPT_TOKENS),
        completion_tokens=_first_int(attributes, _COMPLETION_TOKENS),
        total_tokens=_first_int(attributes, _TOTAL_TOKENS),
        cached_prompt_tokens=_first_int(attributes, _CACHE_READ_TOKENS),
        cache_write_tokens=_first_int(attributes, _CACHE_WRITE_TOKENS),
        reasoning_tokens=_first_int(attributes, _REASONING_TOKENS),
        duration_ms=duration_ms,
        time_to_first_token_ms=None if first_chunk_s is None else first_chunk_s * 1000,
        streaming=any(attributes.get(key) is True for key in _STREAMING),
        status="error" if failed else "success",
        status_code=_first_int(attributes, _HTTP_STATUS),
        error_type=error_type,
        error_message=error_message,
        cost_usd=_first_float(attributes, _COST_USD),
    )


def _operation(attributes: Attributes) -> str | None:
    operation = _first_str(attributes, ("gen_ai.operation.name",))
    if operation is not None:
        return operation
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() == "EMBEDDING":
        return "embeddings"
    return None


def _tags(attributes: Attributes) -> list[str]:
    tags = attributes.get("tag.tags")
    if isinstance(tags, tuple):
        return [tag for tag in tags if isinstance(tag, str)]
    return []


def _metadata(
    attributes: Attributes, model: str, resource: _Resource
) -> dict[str, str | int | float | bool]:
    metadata: dict[str, str | int | float | bool] = {}
    for attribute, key in _METADATA:
        value = attributes.get(attribute)
        if value is not None and value != "" and not isinstance(value, tuple):
            metadata[key] = value

    request_model = _first_str(attributes, _REQUEST_MODEL)
    if request_model is not None and request_model != model:
        metadata["request_model"] = request_model
    finish_reasons = _first(attributes, _FINISH_REASONS)
    if isinstance(finish_reasons, tuple):
        finish_reasons = ",".join(str(reason) for reason in finish_reasons)
    if finish_reasons:
        metadata["finish_reasons"] = finish_reasons
    if resource.service_name is not None:
        metadata["service_name"] = resource.service_name
    return metadata


def _first(attributes: Attributes, keys: Iterable[str]) -> AttributeValue | None:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _first_str(attributes: Attributes, keys: Iterable[str]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _first_text(attributes: Attributes, keys: Iterable[str]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _first_int(attributes: Attributes, keys: Iterable[str]) -> int | None:
    for key in keys:
        value = _as_int(attributes.get(key))
        if value is not None:
            return value
    return None


def _first_float(attributes: Attributes, keys: Iterable[str]) -> float | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            return float(value)
    return None


def _as_int(value: object) -> int | None:
    # Some instrumentations record counts as doubles or strings.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value)
    return None


def _datetime(unix_ns: int) -> datetime | None:
    if unix_ns <= 0:
        return None
    return _EPOCH + timedelta(microseconds=unix_ns // 1000)


def _hex_id(raw: bytes, size: int) -> str:
    if len(raw) != size or not any(raw):
        return ""
    return raw.hex()


def _resource(attributes: Attributes) -> _Resource:
    service_name = _first_str(attributes, ("service.name",))
    # SDKs fill in "unknown_service[:<process>]" when no name was configured.
    if service_name is not None and service_name.startswith("unknown_service"):
        service_name = None
    return _Resource(
        environment=_first_str(attributes, _ENVIRONMENT),
        service_name=service_name,
    )


def _read_protobuf(body: bytes) -> Iterator[tuple[_Resource, _Span]]:
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise InvalidInput(
            "the body is not a protobuf ExportTraceServiceRequest; check that the "
            "exporter uses OTLP/HTTP and that Content-Type matches the encoding",
            field="body",
        ) from error
    return _protobuf_spans(request)


def _protobuf_spans(request: Any) -> Iterator[tuple[_Resource, _Span]]:
    for resource_spans in request.resource_spans:
        resource = _resource(_protobuf_attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield resource, _protobuf_span(span)


def _protobuf_span(span: Any) -> _Span:
    attributes = _protobuf_attributes(span.attributes)
    failed = span.status.code == _STATUS_CODE_ERROR or "error.type" in attributes
    exception: Attributes = {}
    if failed:
        for event in span.events:
            if event.name == "exception":
                exception = _protobuf_attributes(event.attributes)
                break
    return _Span(
        trace_id=_hex_id(span.trace_id, _TRACE_ID_BYTES),
        span_id=_hex_id(span.span_id, _SPAN_ID_BYTES),
        start_ns=int(span.start_time_unix_nano),
        end_ns=int(span.end_time_unix_nano),
        failed=failed,
        status_message=str(span.status.message) or None,
        exception_type=_first_str(exception, ("exception.type",)),
        exception_message=_first_str(exception, ("exception.message",)),
        attributes=attributes,
    )


def _protobuf_attributes(key_values: Iterable[Any]) -> Attributes:
    attributes: Attributes = {}
    for key_value in key_values:
        value = _protobuf_value(key_value.value)
        if value is not None:
            attributes[str(key_value.key)] = value
    return attributes


def _protobuf_value(any_value: Any) -> AttributeValue | None:
    kind = any_value.WhichOneof("value")
    if kind == "string_value":
        return str(any_value.string_value)
    if kind == "int_value":
        return int(any_value.int_value)
    if kind == "double_value":
        return float(any_value.double_value)
    if kind == "bool_value":
        return bool(any_value.bool_value)
    if kind == "array_value":
        items = (_protobuf_value(item) for item in any_value.array_value.values)
        return tuple(
            item for item in items if item is not None and not isinstance(item, tuple)
        )
    return None  # kvlist and bytes values carry nothing the mapping reads


def _read_json(body: bytes) -> Iterator[tuple[_Resource, _Span]]:
    try:
        document = json.loads(body)
    except ValueError as error:  # also covers UnicodeDecodeError
        raise InvalidInput(
            f"the body is not valid JSON ({error}); send an OTLP JSON "
            "ExportTraceServiceRequest",
            field="body",
        ) from error
    if not isinstance(document, dict):
        raise InvalidInput(
            "the body must be a JSON object with a resourceSpans list", field="body"
        )
    return _json_spans(document)


def _json_spans(document: dict[str, Any]) -> Iterator[tuple[_Resource, _Span]]:
    # The OTLP spec allows lowerCamelCase keys only; the snake_case fallback
    # matches what the Collector's own JSON decoder accepts.
    for resource_spans in _json_objects(document, "resourceSpans", "resource_spans"):
        resource_object = _json_object(resource_spans, "resource")
        resource = _resource(_json_attributes(resource_object))
        for scope_spans in _json_objects(resource_spans, "scopeSpans", "scope_spans"):
            for span in _json_objects(scope_spans, "spans"):
                yield resource, _json_span(span)


def _json_span(span: dict[str, Any]) -> _Span:
    attributes = _json_attributes(span)
    status = _json_object(span, "status")
    # Integer codes per the OTLP spec; names from protobuf's canonical mapping.
    failed = status.get("code") in (2, "2", "STATUS_CODE_ERROR")
    failed = failed or "error.type" in attributes
    exception: Attributes = {}
    if failed:
        for event in _json_objects(span, "events"):
            if event.get("name") == "exception":
                exception = _json_attributes(event)
                break
    message = status.get("message")
    return _Span(
        trace_id=_json_id(_member(span, "traceId", "trace_id"), _TRACE_ID_BYTES),
        span_id=_json_id(_member(span, "spanId", "span_id"), _SPAN_ID_BYTES),
        start_ns=_as_int(_member(span, "startTimeUnixNano", "start_time_unix_nano"))
        or 0,
        end_ns=_as_int(_member(span, "endTimeUnixNano", "end_time_unix_nano")) or 0,
        failed=failed,
        status_message=message if isinstance(message, str) and message else None,
        exception_type=_first_str(exception, ("exception.type",)),
        exception_message=_first_str(exception, ("exception.message",)),
        attributes=attributes,
    )


def _json_id(value: object, size: int) -> str:
    if not isinstance(value, str):
        return ""
    try:
        if len(value) == 2 * size:
            return _hex_id(bytes.fromhex(value), size)
        # Base64 is protobuf's canonical mapping for bytes, which some encoders
        # emit despite the OTLP spec; its length never equals the hex length.
        return _hex_id(base64.b64decode(value, validate=True), size)
    except (ValueError, binascii.Error):
        return ""


def _json_attributes(owner: dict[str, Any]) -> Attributes:
    attributes: Attributes = {}
    for key_value in _json_objects(owner, "attributes"):
        key = key_value.get("key")
        value = _json_value(key_value.get("value"))
        if isinstance(key, str) and value is not None:
            attributes[key] = value
    return attributes


def _json_value(any_value: object) -> AttributeValue | None:
    if not isinstance(any_value, dict):
        return None
    value = _member(any_value, "stringValue", "string_value")
    if isinstance(value, str):
        return value
    value = _member(any_value, "intValue", "int_value")
    if value is not None:
        return _as_int(value)
    value = _member(any_value, "doubleValue", "double_value")
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return float(value)  # "NaN" and "Infinity" arrive as strings
        except ValueError:
            return None
    value = _member(any_value, "boolValue", "bool_value")
    if isinstance(value, bool):
        return value
    array = _member(any_value, "arrayValue", "array_value")
    if isinstance(array, dict):
        items = (_json_value(item) for item in _json_objects(array, "values"))
        return tuple(
            item for item in items if item is not None and not isinstance(item, tuple)
        )
    return None


def _member(owner: dict[str, Any], camel_key: str, snake_key: str = "") -> Any:
    value = owner.get(camel_key)
    if value is None and snake_key:
        return owner.get(snake_key)
    return value


def _json_object(
    owner: dict[str, Any], camel_key: str, snake_key: str = ""
) -> dict[str, Any]:
    value = _member(owner, camel_key, snake_key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{camel_key} must be a JSON object", field="body")
    return value


def _json_objects(
    owner: dict[str, Any], camel_key: str, snake_key: str = ""
) -> list[dict[str, Any]]:
    values = _member(owner, camel_key, snake_key)
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise InvalidInput(f"{camel_key} must be a list of JSON objects", field="body")
    return values
