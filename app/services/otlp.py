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

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.errors import InvalidInput
from app.services.call_input import CallIn
from app.services.otlp_wire import (
    Attributes,
    Span,
    first,
    first_float,
    first_int,
    first_str,
    first_text,
    read_json,
    read_protobuf,
)

_PROTOBUF_MEDIA_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_MEDIA_TYPE = "application/json"
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


def parse_otlp_traces(body: bytes, *, content_type: str) -> OtlpBatch:
    """Map the spans of an OTLP/HTTP trace export onto call records.

    Raises:
        InvalidInput: the content type is not protobuf or JSON, or the body
            cannot be decoded as an `ExportTraceServiceRequest`.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type in _PROTOBUF_MEDIA_TYPES:
        spans = read_protobuf(body)
    elif media_type == _JSON_MEDIA_TYPE:
        spans = read_json(body)
    else:
        raise InvalidInput(
            f"unsupported content type {content_type!r}; send OTLP traces as "
            "application/x-protobuf or application/json",
            field="content_type",
        )

    batch = OtlpBatch()
    resource_attributes: Attributes | None = None
    resource = _Resource(environment=None, service_name=None)
    for attributes, span in spans:
        # Spans of one resource share its attribute dict: read it once.
        if attributes is not resource_attributes:
            resource_attributes = attributes
            resource = _resource(attributes)
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


def _to_call(span: Span, resource: _Resource) -> CallIn | RejectedSpan:
    attributes = span.attributes
    if not span.trace_id or not span.span_id:
        return RejectedSpan(span.span_id, "span has no valid trace id or span id")
    model = first_str(attributes, _MODEL)
    if model is None:
        return RejectedSpan(
            span.span_id,
            "model call without a model: set gen_ai.response.model, "
            "gen_ai.request.model or llm.model_name",
        )

    duration_ms = None
    if 0 < span.start_ns <= span.end_ns:
        duration_ms = (span.end_ns - span.start_ns) / 1_000_000
    first_chunk_s = first_float(attributes, _TIME_TO_FIRST_CHUNK_S)

    error_type = first_str(attributes, ("error.type",))
    failed = span.failed or error_type is not None
    error_message = None
    if failed:
        error_type = error_type or span.exception_type
        error_message = span.status_message or span.exception_message

    return CallIn(
        id=f"{span.trace_id}-{span.span_id}",
        timestamp=_datetime(span.start_ns),
        environment=resource.environment,
        provider=first_str(attributes, _PROVIDER),
        model=model,
        operation=_operation(attributes),
        user_id=first_str(attributes, _USER),
        session_id=first_str(attributes, _SESSION),
        tags=_tags(attributes),
        metadata=_metadata(attributes, model, resource),
        prompt=first_text(attributes, _PROMPT_TEXT),
        response=first_text(attributes, _RESPONSE_TEXT),
        prompt_tokens=first_int(attributes, _PROMPT_TOKENS),
        completion_tokens=first_int(attributes, _COMPLETION_TOKENS),
        total_tokens=first_int(attributes, _TOTAL_TOKENS),
        cached_prompt_tokens=first_int(attributes, _CACHE_READ_TOKENS),
        cache_write_tokens=first_int(attributes, _CACHE_WRITE_TOKENS),
        reasoning_tokens=first_int(attributes, _REASONING_TOKENS),
        duration_ms=duration_ms,
        time_to_first_token_ms=None if first_chunk_s is None else first_chunk_s * 1000,
        streaming=any(attributes.get(key) is True for key in _STREAMING),
        status="error" if failed else "success",
        status_code=first_int(attributes, _HTTP_STATUS),
        error_type=error_type,
        error_message=error_message,
        cost_usd=first_float(attributes, _COST_USD),
    )


def _operation(attributes: Attributes) -> str | None:
    operation = first_str(attributes, ("gen_ai.operation.name",))
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

    request_model = first_str(attributes, _REQUEST_MODEL)
    if request_model is not None and request_model != model:
        metadata["request_model"] = request_model
    finish_reasons = first(attributes, _FINISH_REASONS)
    if isinstance(finish_reasons, tuple):
        finish_reasons = ",".join(str(reason) for reason in finish_reasons)
    if finish_reasons:
        metadata["finish_reasons"] = finish_reasons
    if resource.service_name is not None:
        metadata["service_name"] = resource.service_name
    return metadata


def _datetime(unix_ns: int) -> datetime | None:
    if unix_ns <= 0:
        return None
    return _EPOCH + timedelta(microseconds=unix_ns // 1000)


def _resource(attributes: Attributes) -> _Resource:
    service_name = first_str(attributes, ("service.name",))
    # SDKs fill in "unknown_service[:<process>]" when no name was configured.
    if service_name is not None and service_name.startswith("unknown_service"):
        service_name = None
    return _Resource(
        environment=first_str(attributes, _ENVIRONMENT),
        service_name=service_name,
    )
