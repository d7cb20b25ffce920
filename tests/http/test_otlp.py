"""`POST /v1/traces` with the real OpenTelemetry OTLP/HTTP exporter and raw bodies."""

import asyncio
import json
from collections.abc import Sequence

import httpx
import pytest
from genai_prices import Usage, calc_price
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Status as SpanStatus
from opentelemetry.trace import StatusCode

from app.documents import Log, log_key
from tests.factories import TestProject
from tests.services.test_otlp import (
    NEW_CONVENTION,
    STARTED_AT,
    Attributes,
    make_tracer,
    record,
    to_otlp_json,
    to_protobuf,
)

OLD_CONVENTION: Attributes = {
    "gen_ai.system": "anthropic",
    "gen_ai.request.model": "claude-3-5-haiku-20241022",
    "gen_ai.usage.prompt_tokens": 800,
    "gen_ai.usage.completion_tokens": 90,
    "session.id": "conv-old",
}


async def export(
    live_url: str,
    spans: Sequence[ReadableSpan],
    *,
    key: str,
    compression: Compression = Compression.NoCompression,
) -> SpanExportResult:
    exporter = OTLPSpanExporter(
        endpoint=f"http://{live_url}/v1/traces",
        headers={"Authorization": f"Bearer {key}"},
        compression=compression,
        timeout=5,
    )
    try:
        # The exporter blocks; the live server runs on this test's event loop.
        return await asyncio.to_thread(exporter.export, spans)
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]  # the exporter leaves shutdown unannotated


async def stored(project: TestProject, call_id: str) -> Log:
    found = await Log.get(log_key(project.id, call_id))
    assert found is not None
    return found


@pytest.mark.parametrize(
    "compression", [Compression.NoCompression, Compression.Gzip], ids=["plain", "gzip"]
)
async def test_the_sdk_exporter_stores_each_genai_span_as_a_priced_call(
    live_url: str, project: TestProject, compression: Compression
) -> None:
    tracer, spans = make_tracer()
    new_id = record(tracer, NEW_CONVENTION)
    old_id = record(tracer, OLD_CONVENTION, name="chat claude")
    record(tracer, {"http.request.method": "GET", "url.path": "/health"}, name="GET")

    result = await export(
        live_url,
        spans.get_finished_spans(),
        key=project.ingest,
        compression=compression,
    )

    assert result is SpanExportResult.SUCCESS
    assert await Log.find({"project_id": project.id}).count() == 2
    new = await stored(project, new_id)
    assert (new.provider, new.model, new.environment) == (
        "openai",
        "gpt-4o-2024-08-06",
        "staging",
    )
    assert (new.prompt_tokens, new.cached_prompt_tokens, new.reasoning_tokens) == (
        1200,
        1000,
        120,
    )
    assert new.session_id == "conv-7"
    assert new.timestamp == STARTED_AT.replace(microsecond=123000)
    expected = calc_price(
        Usage(
            input_tokens=1200,
            cache_read_tokens=1000,
            cache_write_tokens=100,
            output_tokens=300,
            output_reasoning_tokens=120,
        ),
        model_ref="gpt-4o-2024-08-06",
        provider_id="openai",
        genai_request_timestamp=STARTED_AT,
    )
    assert new.cost_source == "price_table"
    assert new.cost_usd == pytest.approx(float(expected.total_price))
    assert new.price_version is not None

    old = await stored(project, old_id)
    assert (old.provider, old.prompt_tokens, old.session_id) == (
        "anthropic",
        800,
        "conv-old",
    )
    assert old.cost_source == "price_table"


async def test_a_resent_export_stores_nothing_twice(
    live_url: str, project: TestProject
) -> None:
    tracer, spans = make_tracer()
    record(tracer, NEW_CONVENTION)
    finished = spans.get_finished_spans()

    first = await export(live_url, finished, key=project.ingest)
    second = await export(live_url, finished, key=project.ingest)

    assert (first, second) == (SpanExportResult.SUCCESS, SpanExportResult.SUCCESS)
    assert await Log.find({"project_id": project.id}).count() == 1


async def test_the_exporter_fails_with_a_key_that_cannot_ingest(
    live_url: str, project: TestProject
) -> None:
    tracer, spans = make_tracer()
    record(tracer, NEW_CONVENTION)

    result = await export(live_url, spans.get_finished_spans(), key=project.reader)

    assert result is SpanExportResult.FAILURE
    assert await Log.find({"project_id": project.id}).count() == 0


def rejected_export() -> tuple[list[ReadableSpan], str]:
    """One good model span, one without a model, one whose tokens break the ledger."""
    tracer, spans = make_tracer()
    good_id = record(tracer, NEW_CONVENTION)
    record(tracer, {"gen_ai.operation.name": "chat", "gen_ai.system": "openai"})
    record(
        tracer,
        {**NEW_CONVENTION, "gen_ai.usage.reasoning.output_tokens": 301},
        status=SpanStatus(StatusCode.ERROR, "boom"),
    )
    return list(spans.get_finished_spans()), good_id


async def test_rejected_spans_are_reported_as_a_protobuf_partial_success(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    finished, good_id = rejected_export()

    response = await client.post(
        "/v1/traces",
        content=to_protobuf(finished),
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": "application/x-protobuf",
        },
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 2
    message = answer.partial_success.error_message
    assert message.startswith("2 model-call spans rejected")
    assert "model call without a model" in message
    assert "reasoningTokens (301) exceed completionTokens (300)" in message
    assert await Log.find({"project_id": project.id}).count() == 1
    assert (await stored(project, good_id)).status == "success"


async def test_a_json_export_is_answered_in_json(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    finished, _ = rejected_export()

    response = await client.post(
        "/v1/traces",
        content=to_otlp_json(finished),
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "model call without a model" in partial["errorMessage"]


async def test_a_fully_accepted_export_answers_an_empty_response(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    tracer, spans = make_tracer()
    record(tracer, NEW_CONVENTION)

    response = await client.post(
        "/v1/traces",
        content=to_otlp_json(spans.get_finished_spans()),
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.parametrize(
    ("content_type", "decode"),
    [
        pytest.param("application/x-protobuf", Status.FromString, id="protobuf status"),
        pytest.param(
            "application/json",
            lambda body: json_format.Parse(body, Status()),
            id="json status",
        ),
    ],
)
async def test_an_undecodable_export_is_answered_400_with_a_status_message(
    client: httpx.AsyncClient,
    project: TestProject,
    content_type: str,
    decode: object,
) -> None:
    response = await client.post(
        "/v1/traces",
        content=b"\xff\xfe definitely not OTLP",
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": content_type,
        },
    )

    assert response.status_code == 400
    assert callable(decode)
    status = decode(response.content)
    assert status.code == 3  # google.rpc.Code INVALID_ARGUMENT
    assert status.message


async def test_an_unsupported_content_type_is_refused(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    response = await client.post(
        "/v1/traces",
        content=json.dumps({"resourceSpans": []}).encode(),
        headers={
            "Authorization": f"Bearer {project.ingest}",
            "Content-Type": "text/plain",
        },
    )

    assert response.status_code == 400
    status = Status.FromString(response.content)
    assert "application/x-protobuf or application/json" in status.message
