"""Decode an OTLP/HTTP trace export, protobuf or JSON, into plain spans.

Each span is reduced once to its ids, times, status and one flat attribute dict,
whatever its encoding, so `app.services.otlp` maps both encodings the same way.
Resource attributes come along as a dict shared by the resource's spans.
"""

import base64
import binascii
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from app.errors import InvalidInput

AttributeValue = str | bool | int | float | tuple[str | bool | int | float, ...]
Attributes = dict[str, AttributeValue]

_STATUS_CODE_ERROR = 2
_TRACE_ID_BYTES = 16
_SPAN_ID_BYTES = 8


@dataclass(slots=True)
class Span:
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


def first(attributes: Attributes, keys: Iterable[str]) -> AttributeValue | None:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def first_str(attributes: Attributes, keys: Iterable[str]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def first_text(attributes: Attributes, keys: Iterable[str]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def first_int(attributes: Attributes, keys: Iterable[str]) -> int | None:
    for key in keys:
        value = as_int(attributes.get(key))
        if value is not None:
            return value
    return None


def first_float(attributes: Attributes, keys: Iterable[str]) -> float | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            return float(value)
    return None


def as_int(value: object) -> int | None:
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


def _hex_id(raw: bytes, size: int) -> str:
    if len(raw) != size or not any(raw):
        return ""
    return raw.hex()


def read_protobuf(body: bytes) -> Iterator[tuple[Attributes, Span]]:
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise InvalidInput(
            "the body is not a protobuf ExportTraceServiceRequest; check that the "
            "exporter uses OTLP/HTTP and that Content-Type matches the encoding",
            field="body",
        ) from error
    return _protobuf_spans(request)


def _protobuf_spans(request: Any) -> Iterator[tuple[Attributes, Span]]:
    for resource_spans in request.resource_spans:
        resource = _protobuf_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield resource, _protobuf_span(span)


def _protobuf_span(span: Any) -> Span:
    attributes = _protobuf_attributes(span.attributes)
    failed = span.status.code == _STATUS_CODE_ERROR or "error.type" in attributes
    exception: Attributes = {}
    if failed:
        for event in span.events:
            if event.name == "exception":
                exception = _protobuf_attributes(event.attributes)
                break
    return Span(
        trace_id=_hex_id(span.trace_id, _TRACE_ID_BYTES),
        span_id=_hex_id(span.span_id, _SPAN_ID_BYTES),
        start_ns=int(span.start_time_unix_nano),
        end_ns=int(span.end_time_unix_nano),
        failed=failed,
        status_message=str(span.status.message) or None,
        exception_type=first_str(exception, ("exception.type",)),
        exception_message=first_str(exception, ("exception.message",)),
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


def read_json(body: bytes) -> Iterator[tuple[Attributes, Span]]:
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


def _json_spans(document: dict[str, Any]) -> Iterator[tuple[Attributes, Span]]:
    # The OTLP spec allows lowerCamelCase keys only; the snake_case fallback
    # matches what the Collector's own JSON decoder accepts.
    for resource_spans in _json_objects(document, "resourceSpans", "resource_spans"):
        resource_object = _json_object(resource_spans, "resource")
        resource = _json_attributes(resource_object)
        for scope_spans in _json_objects(resource_spans, "scopeSpans", "scope_spans"):
            for span in _json_objects(scope_spans, "spans"):
                yield resource, _json_span(span)


def _json_span(span: dict[str, Any]) -> Span:
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
    return Span(
        trace_id=_json_id(_member(span, "traceId", "trace_id"), _TRACE_ID_BYTES),
        span_id=_json_id(_member(span, "spanId", "span_id"), _SPAN_ID_BYTES),
        start_ns=as_int(_member(span, "startTimeUnixNano", "start_time_unix_nano"))
        or 0,
        end_ns=as_int(_member(span, "endTimeUnixNano", "end_time_unix_nano")) or 0,
        failed=failed,
        status_message=message if isinstance(message, str) and message else None,
        exception_type=first_str(exception, ("exception.type",)),
        exception_message=first_str(exception, ("exception.message",)),
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
        return as_int(value)
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
