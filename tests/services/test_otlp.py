import base64
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import Status, StatusCode, Tracer

from app.errors import InvalidInput
from app.services.call_input import CallIn
from app.services.otlp import OtlpBatch, RejectedSpan, parse_otlp_traces

AttributeValue = str | bool | int | float | bytes | Sequence[str]
Attributes = Mapping[str, AttributeValue | Mapping[str, AttributeValue]]
Encoder = Callable[[Sequence[ReadableSpan]], bytes]

START_NS = 1_750_000_000_123_456_789
DURATION_NS = 1_234_500_000
STARTED_AT = datetime(2025, 6, 15, 15, 6, 40, 123456, tzinfo=UTC)
RESOURCE = {"service.name": "checkout", "deployment.environment.name": "staging"}

NEW_CONVENTION: Attributes = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_write.input_tokens": 100,
    "gen_ai.usage.reasoning.output_tokens": 120,
    "gen_ai.conversation.id": "conv-7",
    "user.id": "user-42",
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.max_tokens": 512,
    "gen_ai.request.stream": True,
    "gen_ai.response.time_to_first_chunk": 0.25,
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.response.finish_reasons": ["stop", "length"],
    "http.response.status_code": 200,
    "gen_ai.input.messages": '[{"role": "user", "parts": [{"content": "Hi"}]}]',
    "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"content": "Yo"}]}]',
}


def make_tracer(
    resource: Mapping[str, str] = RESOURCE,
) -> tuple[Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(dict(resource)), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("tests.services.test_otlp"), exporter


def record(
    tracer: Tracer,
    attributes: Attributes,
    *,
    name: str = "chat gpt-4o",
    status: Status | None = None,
) -> str:
    """Record one finished span and return the call id it should map to."""
    span = tracer.start_span(name, attributes=attributes, start_time=START_NS)
    if status is not None:
        span.set_status(status)
    span.end(end_time=START_NS + DURATION_NS)
    context = span.get_span_context()
    return f"{context.trace_id:032x}-{context.span_id:016x}"


def record_one(attributes: Attributes, **resource: str) -> tuple[str, bytes]:
    tracer, exporter = make_tracer(resource or RESOURCE)
    call_id = record(tracer, attributes)
    return call_id, to_protobuf(exporter.get_finished_spans())


def to_protobuf(spans: Sequence[ReadableSpan]) -> bytes:
    body: bytes = encode_spans(spans).SerializeToString()
    return body


def to_canonical_json(spans: Sequence[ReadableSpan]) -> bytes:
    """Protobuf's own JSON mapping: base64 ids, enum names."""
    text: str = json_format.MessageToJson(encode_spans(spans))
    return text.encode()


def to_otlp_json(spans: Sequence[ReadableSpan]) -> bytes:
    """The OTLP JSON encoding: hex ids, integer enums, int64 as strings."""
    document = json_format.MessageToDict(
        encode_spans(spans), use_integers_for_enums=True
    )
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document).encode()


ENCODINGS = [
    pytest.param(to_protobuf, "application/x-protobuf", id="protobuf"),
    pytest.param(to_otlp_json, "application/json", id="otlp-json"),
    pytest.param(to_canonical_json, "application/json", id="canonical-json"),
]


def parse_protobuf(body: bytes) -> OtlpBatch:
    return parse_otlp_traces(body, content_type="application/x-protobuf")


@pytest.mark.parametrize(("encode", "content_type"), ENCODINGS)
def test_new_convention_span_maps_every_field(
    encode: Encoder, content_type: str
) -> None:
    tracer, exporter = make_tracer()
    call_id = record(tracer, NEW_CONVENTION)

    batch = parse_otlp_traces(
        encode(exporter.get_finished_spans()), content_type=content_type
    )

    assert batch == OtlpBatch(
        calls=[
            CallIn(
                id=call_id,
                timestamp=STARTED_AT,
                environment="staging",
                provider="openai",
                model="gpt-4o-2024-08-06",
                operation="chat",
                user_id="user-42",
                session_id="conv-7",
                metadata={
                    "temperature": 0.2,
                    "max_tokens": 512,
                    "response_id": "chatcmpl-1",
                    "request_model": "gpt-4o",
                    "finish_reasons": "stop,length",
                    "service_name": "checkout",
                },
                prompt=NEW_CONVENTION["gen_ai.input.messages"],
                response=NEW_CONVENTION["gen_ai.output.messages"],
                prompt_tokens=1200,
                completion_tokens=300,
                cached_prompt_tokens=1000,
                cache_write_tokens=100,
                reasoning_tokens=120,
                duration_ms=1234.5,
                time_to_first_token_ms=250.0,
                streaming=True,
                status="success",
                status_code=200,
            )
        ],
        total_spans=1,
    )


def test_older_attribute_names_map_to_the_same_fields() -> None:
    call_id, body = record_one(
        {
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.usage.prompt_tokens": 900,
            "gen_ai.usage.completion_tokens": 80,
            "gen_ai.usage.cache_read_input_tokens": 700,
            "gen_ai.usage.cache_creation_input_tokens": 150,
            "session.id": "session-3",
            "enduser.id": "user-9",
            "http.status_code": 200,
        },
        **{"deployment.environment": "production"},
    )

    [call] = parse_protobuf(body).calls

    assert call.id == call_id
    assert call.environment == "production"
    assert call.provider == "anthropic"
    assert call.model == "claude-sonnet-4"
    assert call.operation is None
    assert (call.prompt_tokens, call.completion_tokens) == (900, 80)
    assert (call.cached_prompt_tokens, call.cache_write_tokens) == (700, 150)
    assert (call.session_id, call.user_id) == ("session-3", "user-9")
    assert call.status_code == 200
    assert call.metadata == {}


def test_semconv_cache_creation_name_maps_to_cache_write_tokens() -> None:
    _, body = record_one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.usage.cache_creation.input_tokens": 64,
        }
    )

    [call] = parse_protobuf(body).calls

    assert call.cache_write_tokens == 64


def test_openinference_spans_map_every_field() -> None:
    tracer, exporter = make_tracer()
    llm_call_id = record(
        tracer,
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4.1-mini",
            "llm.provider": "azure",
            "llm.system": "openai",
            "llm.token_count.prompt": 40,
            "llm.token_count.completion": 10,
            "llm.token_count.total": 50,
            "llm.token_count.prompt_details.cache_read": 32,
            "llm.token_count.prompt_details.cache_write": 8,
            "llm.token_count.completion_details.reasoning": 4,
            "llm.cost.total": 0.0021,
            "session.id": "session-1",
            "user.id": "user-1",
            "tag.tags": ["beta", "search"],
            "input.value": "What is OTLP?",
            "output.value": "A protocol.",
        },
    )
    record(
        tracer,
        {
            "openinference.span.kind": "EMBEDDING",
            "embedding.model_name": "text-embedding-3-small",
            "llm.token_count.prompt": 12,
        },
    )

    batch = parse_protobuf(to_protobuf(exporter.get_finished_spans()))

    llm_call, embedding_call = batch.calls
    assert llm_call.model_dump(exclude_defaults=True) == {
        "id": llm_call_id,
        "timestamp": STARTED_AT,
        "environment": "staging",
        "provider": "azure",
        "model": "gpt-4.1-mini",
        "user_id": "user-1",
        "session_id": "session-1",
        "tags": ["beta", "search"],
        "metadata": {"service_name": "checkout"},
        "prompt": "What is OTLP?",
        "response": "A protocol.",
        "prompt_tokens": 40,
        "completion_tokens": 10,
        "total_tokens": 50,
        "cached_prompt_tokens": 32,
        "cache_write_tokens": 8,
        "reasoning_tokens": 4,
        "duration_ms": 1234.5,
        "status": "success",
        "cost_usd": 0.0021,
    }
    assert embedding_call.model == "text-embedding-3-small"
    assert embedding_call.operation == "embeddings"
    assert embedding_call.prompt_tokens == 12


def test_response_model_wins_over_request_model() -> None:
    _, body = record_one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-11-20",
        }
    )

    [call] = parse_protobuf(body).calls

    assert call.model == "gpt-4o-2024-11-20"
    assert call.metadata["request_model"] == "gpt-4o"


def test_request_model_is_used_when_no_response_arrived() -> None:
    _, body = record_one(
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    )

    [call] = parse_protobuf(body).calls

    assert call.model == "gpt-4o"
    assert "request_model" not in call.metadata


def test_spans_that_are_not_model_calls_are_skipped_and_counted() -> None:
    tracer, exporter = make_tracer()
    record(tracer, {"http.request.method": "POST", "url.path": "/checkout"})
    record(
        tracer,
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 5000,
        },
    )
    record(tracer, {"gen_ai.operation.name": "execute_tool"})
    record(tracer, {"openinference.span.kind": "CHAIN"})
    record(tracer, NEW_CONVENTION)

    batch = parse_protobuf(to_protobuf(exporter.get_finished_spans()))

    assert batch.total_spans == 5
    assert batch.skipped_spans == 4
    assert batch.rejected == []
    assert [call.model for call in batch.calls] == ["gpt-4o-2024-08-06"]


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({"gen_ai.operation.name": "chat"}, id="operation"),
        pytest.param({"gen_ai.provider.name": "openai"}, id="provider"),
        pytest.param({"gen_ai.system": "openai"}, id="system"),
        pytest.param({"openinference.span.kind": "LLM"}, id="openinference"),
    ],
)
def test_model_call_without_a_model_is_rejected_with_a_reason(
    attributes: Attributes,
) -> None:
    tracer, exporter = make_tracer()
    call_id = record(tracer, attributes)

    batch = parse_protobuf(to_protobuf(exporter.get_finished_spans()))

    span_id = call_id.partition("-")[2]
    assert batch.calls == []
    assert batch.skipped_spans == 0
    assert batch.total_spans == 1
    assert batch.rejected == [
        RejectedSpan(
            span_id=span_id,
            reason="model call without a model: set gen_ai.response.model, "
            "gen_ai.request.model or llm.model_name",
        )
    ]


@pytest.mark.parametrize(("encode", "content_type"), ENCODINGS)
def test_error_status_maps_to_an_error_call(encode: Encoder, content_type: str) -> None:
    tracer, exporter = make_tracer()
    record(
        tracer,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "error.type": "RateLimitError",
            "http.response.status_code": 429,
        },
        status=Status(StatusCode.ERROR, "Rate limit reached for gpt-4o"),
    )

    body = encode(exporter.get_finished_spans())
    [call] = parse_otlp_traces(body, content_type=content_type).calls

    assert call.status == "error"
    assert call.status_code == 429
    assert call.error_type == "RateLimitError"
    assert call.error_message == "Rate limit reached for gpt-4o"


@pytest.mark.parametrize(("encode", "content_type"), ENCODINGS)
def test_escaped_exception_supplies_the_error_type_and_message(
    encode: Encoder, content_type: str
) -> None:
    tracer, exporter = make_tracer()
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    with (
        pytest.raises(TimeoutError),
        tracer.start_as_current_span("chat gpt-4o", attributes=attributes),
    ):
        raise TimeoutError("no answer in 30 s")

    body = encode(exporter.get_finished_spans())
    [call] = parse_otlp_traces(body, content_type=content_type).calls

    assert call.status == "error"
    assert call.error_type == "TimeoutError"
    assert call.error_message == "TimeoutError: no answer in 30 s"


def test_error_type_alone_marks_the_call_as_failed() -> None:
    _, body = record_one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "error.type": "timeout",
        }
    )

    [call] = parse_protobuf(body).calls

    assert (call.status, call.error_type, call.error_message) == (
        "error",
        "timeout",
        None,
    )


def test_ok_status_maps_to_success_without_error_fields() -> None:
    tracer, exporter = make_tracer()
    record(tracer, NEW_CONVENTION, status=Status(StatusCode.OK))

    [call] = parse_protobuf(to_protobuf(exporter.get_finished_spans())).calls

    assert (call.status, call.error_type, call.error_message) == (
        "success",
        None,
        None,
    )


def test_duration_and_timestamp_come_from_span_times() -> None:
    _, body = record_one(NEW_CONVENTION)

    [call] = parse_protobuf(body).calls

    assert call.timestamp == STARTED_AT
    assert call.timestamp is not None
    assert call.timestamp.tzinfo is UTC
    assert call.duration_ms == 1234.5


def test_call_ids_are_stable_across_retries_and_encodings() -> None:
    tracer, exporter = make_tracer()
    first_id = record(tracer, NEW_CONVENTION)
    second_id = record(tracer, NEW_CONVENTION)
    spans = exporter.get_finished_spans()

    bodies = [
        (to_protobuf(spans), "application/x-protobuf"),
        (to_protobuf(spans), "application/x-protobuf"),
        (to_otlp_json(spans), "application/json"),
        (to_canonical_json(spans), "application/json"),
    ]
    batches = [parse_otlp_traces(body, content_type=kind) for body, kind in bodies]

    assert first_id != second_id
    for batch in batches:
        assert [call.id for call in batch.calls] == [first_id, second_id]
        assert batch.calls == batches[0].calls


def test_hand_written_otlp_json_is_parsed() -> None:
    body = json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [
                            {
                                "key": "deployment.environment.name",
                                "value": {"stringValue": "dev"},
                            }
                        ]
                    },
                    "scopeSpans": [
                        {
                            "scope": {"name": "my.instrumentation"},
                            "spans": [
                                {
                                    "traceId": "5B8EFFF798038103D269B633813FC60C",
                                    "spanId": "EEE19B7EC3C1B174",
                                    "parentSpanId": "EEE19B7EC3C1B173",
                                    "name": "chat mistral-large",
                                    "kind": 3,
                                    "startTimeUnixNano": "1544712660000000000",
                                    "endTimeUnixNano": "1544712661500000000",
                                    "attributes": [
                                        {
                                            "key": "gen_ai.operation.name",
                                            "value": {"stringValue": "chat"},
                                        },
                                        {
                                            "key": "gen_ai.provider.name",
                                            "value": {"stringValue": "mistral_ai"},
                                        },
                                        {
                                            "key": "gen_ai.request.model",
                                            "value": {"stringValue": "mistral-large"},
                                        },
                                        {
                                            "key": "gen_ai.usage.input_tokens",
                                            "value": {"intValue": "42"},
                                        },
                                        {
                                            "key": "gen_ai.usage.output_tokens",
                                            "value": {"intValue": 7},
                                        },
                                        {
                                            "key": "gen_ai.request.temperature",
                                            "value": {"doubleValue": 0.5},
                                        },
                                        {
                                            "key": "gen_ai.response.finish_reasons",
                                            "value": {
                                                "arrayValue": {
                                                    "values": [{"stringValue": "stop"}]
                                                }
                                            },
                                        },
                                        {
                                            "key": "gen_ai.request.stream",
                                            "value": {"boolValue": False},
                                        },
                                    ],
                                    "status": {"code": 2, "message": "overloaded"},
                                    "futureField": {"ignored": True},
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    ).encode()

    batch = parse_otlp_traces(body, content_type="application/json; charset=utf-8")

    [call] = batch.calls
    assert call.model_dump(exclude_defaults=True) == {
        "id": "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174",
        "timestamp": datetime(2018, 12, 13, 14, 51, tzinfo=UTC),
        "environment": "dev",
        "provider": "mistral_ai",
        "model": "mistral-large",
        "operation": "chat",
        "metadata": {"temperature": 0.5, "finish_reasons": "stop"},
        "prompt_tokens": 42,
        "completion_tokens": 7,
        "duration_ms": 1500.0,
        "status": "error",
        "error_message": "overloaded",
    }


def test_snake_case_json_keys_are_accepted() -> None:
    tracer, exporter = make_tracer()
    call_id = record(tracer, NEW_CONVENTION)
    spans = exporter.get_finished_spans()
    text: str = json_format.MessageToJson(
        encode_spans(spans), preserving_proto_field_name=True
    )

    batch = parse_otlp_traces(text.encode(), content_type="application/json")

    assert '"resource_spans"' in text
    assert [call.id for call in batch.calls] == [call_id]
    assert batch.calls == parse_protobuf(to_protobuf(spans)).calls


def test_malformed_ids_in_json_reject_only_that_span() -> None:
    tracer, exporter = make_tracer()
    record(tracer, NEW_CONVENTION)
    record(tracer, NEW_CONVENTION)
    document = json.loads(to_otlp_json(exporter.get_finished_spans()))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "zz"

    batch = parse_otlp_traces(
        json.dumps(document).encode(), content_type="application/json"
    )

    assert len(batch.calls) == 1
    assert [rejected.reason for rejected in batch.rejected] == [
        "span has no valid trace id or span id"
    ]


def test_counts_recorded_as_doubles_or_strings_are_read_as_integers() -> None:
    _, body = record_one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 12.0,
            "gen_ai.usage.output_tokens": "7",
            "gen_ai.usage.reasoning.output_tokens": 2.5,
            "gen_ai.usage.cache_read.input_tokens": True,
            "user.id": 1234,
        }
    )

    [call] = parse_protobuf(body).calls

    assert (call.prompt_tokens, call.completion_tokens) == (12, 7)
    assert (call.reasoning_tokens, call.cached_prompt_tokens) == (None, None)
    assert call.user_id == "1234"


def test_structured_and_binary_attributes_are_ignored() -> None:
    _, body = record_one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.agent.name": {"nested": "value"},
            "gen_ai.response.id": b"raw-bytes",
            "gen_ai.input.messages": {"role": "user", "content": "Hi"},
        }
    )

    [call] = parse_protobuf(body).calls

    assert call.prompt is None
    assert call.metadata == {"service_name": "checkout"}


def otlp_json_span(span: dict[str, object]) -> bytes:
    """Wrap one hand-written OTLP JSON span in an export request."""
    ids = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [ids | span]}]}]}
    return json.dumps(export).encode()


def test_json_attribute_values_of_every_kind_are_read_or_ignored() -> None:
    def attribute(key: str, value: object) -> dict[str, object]:
        return {"key": key, "value": value}

    body = otlp_json_span(
        {
            "attributes": [
                attribute("gen_ai.operation.name", {"stringValue": "chat"}),
                attribute("gen_ai.request.model", {"stringValue": "gpt-4o"}),
                attribute("gen_ai.usage.input_tokens", {"intValue": "12"}),
                attribute("gen_ai.usage.output_tokens", {"doubleValue": 3}),
                attribute("gen_ai.request.temperature", {"doubleValue": "oops"}),
                attribute("gen_ai.request.top_p", {"doubleValue": "NaN"}),
                attribute("llm.cost.total", {"doubleValue": "Infinity"}),
                attribute("gen_ai.agent.name", {"kvlistValue": {"values": []}}),
                attribute("gen_ai.response.id", {"bytesValue": "AAEC"}),
                attribute("server.address", {}),
                attribute("gen_ai.prompt.name", None),
                {"value": {"stringValue": "no key"}},
            ],
            "status": {"code": "STATUS_CODE_OK"},
        }
    )

    [call] = parse_otlp_traces(body, content_type="application/json").calls

    assert (call.prompt_tokens, call.completion_tokens) == (12, 3)
    assert call.cost_usd is None
    assert call.status == "success"
    assert set(call.metadata) == {"top_p"}


def test_span_without_times_has_no_timestamp_or_duration() -> None:
    body = otlp_json_span(
        {
            "attributes": [
                {"key": "llm.model_name", "value": {"stringValue": "gpt-4o"}},
            ],
        }
    )

    [call] = parse_otlp_traces(body, content_type="application/json").calls

    assert call.timestamp is None
    assert call.duration_ms is None


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [
        pytest.param("0" * 32, "b7ad6b7169203331", id="zero-trace-id"),
        pytest.param("0af7651916cd43dd8448eb211c80319c", 42, id="numeric-span-id"),
        pytest.param("0af7651916cd43dd8448eb211c80319c", "b7ad6b71", id="short"),
    ],
)
def test_spans_with_invalid_ids_are_rejected(trace_id: str, span_id: object) -> None:
    body = otlp_json_span(
        {
            "traceId": trace_id,
            "spanId": span_id,
            "attributes": [
                {"key": "llm.model_name", "value": {"stringValue": "gpt-4o"}},
            ],
        }
    )

    batch = parse_otlp_traces(body, content_type="application/json")

    assert batch.calls == []
    assert [rejected.reason for rejected in batch.rejected] == [
        "span has no valid trace id or span id"
    ]


def test_prompt_and_response_text_stay_out_of_metadata() -> None:
    _, body = record_one(NEW_CONVENTION)

    [call] = parse_protobuf(body).calls

    stored_text = json.dumps(call.metadata) + " ".join(call.tags)
    assert "Hi" not in stored_text
    assert "Yo" not in stored_text
    assert call.prompt is not None
    assert "Hi" in call.prompt
    assert call.response is not None
    assert "Yo" in call.response


def test_empty_export_yields_an_empty_batch() -> None:
    for body, content_type in [
        (b"", "application/x-protobuf"),
        (b"{}", "application/json"),
    ]:
        assert parse_otlp_traces(body, content_type=content_type) == OtlpBatch()


def test_unparseable_protobuf_body_raises_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a protobuf ExportTraceServiceRequest"):
        parse_protobuf(b"\x0a\xff\xff\xff\xff not protobuf")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{not json", "not valid JSON", id="syntax"),
        pytest.param(b"\xff\xfe", "not valid JSON", id="encoding"),
        pytest.param(b"[]", "must be a JSON object", id="array"),
        pytest.param(
            b'{"resourceSpans": {}}', "resourceSpans must be a list", id="shape"
        ),
        pytest.param(
            b'{"resourceSpans": [{"resource": []}]}',
            "resource must be a JSON object",
            id="resource",
        ),
        pytest.param(
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]}',
            "spans must be a list of JSON objects",
            id="span",
        ),
    ],
)
def test_unparseable_json_body_raises_invalid_input(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as raised:
        parse_otlp_traces(body, content_type="application/json")

    assert raised.value.field == "body"


def test_unsupported_content_type_raises_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unsupported content type") as raised:
        parse_otlp_traces(b"{}", content_type="text/plain")

    assert raised.value.field == "content_type"
