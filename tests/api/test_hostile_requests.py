"""One hostile or careless request per row: each is refused with its code, changes
nothing, and is not logged as an operator's error."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.documents import ALL_DOCUMENTS
from tests.conftest import http_client, sibling_app
from tests.factories import TestProject

LIMITS = {
    "environment": "production",
    "max_query_depth": 3,
    "max_aliases": 10,
    "max_query_tokens": 500,
    "max_body_bytes": 64 * 1024,
    "max_batch_size": 3,
}


@pytest.fixture(scope="module")
async def hostile_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A production app with small limits on the session's store."""
    async with http_client(sibling_app(app, **LIMITS)) as client:
        yield client


@dataclass(frozen=True)
class Hostile:
    """A request, and the status, code and message words it must get back."""

    body: Any = None
    status: int = 200
    code: str = "GRAPHQL_VALIDATION_FAILED"
    says: str = ""
    not_says: str = ""
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str = "application/json"


def aliases(count: int, field_text: str = "logs { totalCount }") -> str:
    return " ".join(f"a{index}: {field_text}" for index in range(count))


RECORD_FIELDS = 'logCall(input: {provider: "openai", model: "m"}) { id }'

ROWS = [
    pytest.param(
        Hostile(
            {"query": "{ sessions { items { calls { error { message } } } } }"},
            says="exceeds maximum operation depth of 3",
        ),
        id="deep",
    ),
    pytest.param(
        Hostile(
            {"query": f"{{ {aliases(11)} }}"}, says="11 aliases found. Allowed: 10"
        ),
        id="alias-wide",
    ),
    pytest.param(
        Hostile(
            {
                "query": f"fragment F on Query {{ {aliases(4)} }} "
                "query { ...F ...F ...F }"
            },
            says="12 aliases found. Allowed: 10",
        ),
        id="alias-in-fragment",
    ),
    pytest.param(
        Hostile(
            {
                "query": "fragment A on Query { ...B } fragment B on Query { ...A } "
                "query { ...A }"
            },
            says="Cannot spread fragment 'A' within itself via 'B'",
        ),
        id="circular-fragments",
    ),
    pytest.param(
        Hostile(
            {"query": "{ " + " ".join(["logs { totalCount }"] * 200) + " }"},
            says="Document contains more than 500 tokens",
        ),
        id="huge-token-count",
    ),
    pytest.param(
        Hostile(
            {
                "query": "query Q($tags: [String!]) { logs { totalCount } }",
                "variables": {"tags": ["x" * 100] * 1000},
            },
            status=413,
            code="PAYLOAD_TOO_LARGE",
            says="over the 65536-byte limit",
        ),
        id="huge-variables",
    ),
    pytest.param(
        Hostile({"query": "{ __schema { types { name } } }"}, says="introspection"),
        id="introspection-in-production",
    ),
    pytest.param(
        Hostile(
            {"query": "{ logz { totalCount } }"},
            says="Cannot query field 'logz'",
            not_says="Did you mean",
        ),
        id="typo-field-in-production",
    ),
    pytest.param(
        Hostile(
            [{"query": "{ logs { totalCount } }"}] * 3,
            status=400,
            code="INVALID_INPUT",
            says="one operation per request",
        ),
        id="oversize-batch-of-operations",
    ),
    pytest.param(
        Hostile(
            {"query": f"mutation {{ {aliases(11, RECORD_FIELDS)} }}"},
            says="11 aliases found",
        ),
        id="oversize-batch-of-aliased-calls",
    ),
    pytest.param(
        Hostile(
            {
                "query": "mutation M($inputs: [LogCallInput!]!) { logCalls(inputs: "
                "$inputs) { storedCount } }",
                "variables": {"inputs": [{"provider": "p", "model": "m"}] * 4},
            },
            code="PAYLOAD_TOO_LARGE",
            says="3",
        ),
        id="oversize-batch-of-calls",
    ),
    pytest.param(
        Hostile(
            {
                "query": "mutation R($p: String!) { logCall(input: {provider: $p, "
                'model: "m"}) { id } }',
                "variables": {"p": "p" * 300},
            },
            code="INVALID_INPUT",
            says="limit is 256",
        ),
        id="oversize-string",
    ),
    pytest.param(
        Hostile(
            {
                "query": 'mutation R($n: Int) { logCall(input: {provider: "p", '
                'model: "m", promptTokens: $n}) { id } }',
                "variables": {"n": "many"},
            },
            says="Int cannot represent non-integer value",
        ),
        id="wrong-type",
    ),
    pytest.param(
        Hostile(
            {"query": "{ logs(filter: {statuses: [MAYBE]}) { totalCount } }"},
            says="MAYBE",
        ),
        id="unknown-enum-value",
    ),
    pytest.param(
        Hostile(
            {
                "query": '{ logs(filter: {start: "2026-02-01T00:00:00Z", '
                'end: "2026-01-01T00:00:00Z"}) { totalCount } }'
            },
            code="INVALID_INPUT",
            says="filter.start must be before filter.end",
        ),
        id="inverted-time-range",
    ),
    pytest.param(
        Hostile(
            {
                "query": '{ logs(filter: {start: "2026-02-01T00:00:00"}) '
                "{ totalCount } }"
            },
            code="INVALID_INPUT",
            says="needs a time zone",
        ),
        id="time-without-zone",
    ),
    pytest.param(
        Hostile(
            {"query": '{ logs(filter: {start: "yesterday"}) { totalCount } }'},
            says="DateTime",
        ),
        id="unparsable-time",
    ),
    pytest.param(
        Hostile(
            {
                "query": '{ usageSummary(filter: {start: "2026-02-01T00:00:00Z", '
                'end: "2026-01-01T00:00:00Z"}) { calls } }'
            },
            code="INVALID_INPUT",
            says="swap them",
        ),
        id="inverted-usage-range",
    ),
    pytest.param(
        Hostile(
            {
                "query": '{ usageTimeSeries(filter: {start: "2026-01-01T00:00:00Z", '
                'end: "2026-03-01T00:00:00Z"}, granularity: MINUTE, timeZone: "UTC") '
                "{ granularity } }"
            },
            code="INVALID_INPUT",
            says="MINUTE buckets may span at most",
        ),
        id="time-series-too-long",
    ),
    pytest.param(
        Hostile(
            {
                "query": '{ usageTimeSeries(filter: {start: "2026-01-01T00:00:00Z", '
                'end: "2026-01-02T00:00:00Z"}, granularity: HOUR, '
                'timeZone: "Mars/Olympus") { granularity } }'
            },
            code="INVALID_INPUT",
            says="Mars/Olympus",
        ),
        id="unknown-time-zone",
    ),
    pytest.param(
        Hostile(
            {"query": "{ logs(pagination: {first: 100000}) { totalCount } }"},
            code="INVALID_INPUT",
            says="first must be between 1 and 100",
        ),
        id="page-too-large",
    ),
    pytest.param(
        Hostile(
            method="GET",
            params={"query": "{ logs { totalCount } }"},
            status=400,
            code="INVALID_INPUT",
            says="send queries as POST",
        ),
        id="query-over-get",
    ),
    pytest.param(
        Hostile(
            method="GET",
            params={"query": f"mutation {{ {RECORD_FIELDS} }}"},
            status=400,
            code="INVALID_INPUT",
            says="not allowed",
        ),
        id="mutation-over-get",
    ),
    pytest.param(
        Hostile(
            content=b"query=mutation+%7B+logCall%7D",
            content_type="application/x-www-form-urlencoded",
            status=400,
            code="INVALID_INPUT",
            says="Unsupported content type",
        ),
        id="form-post",
    ),
    pytest.param(
        Hostile(
            content=b'{"query": "{ logs ',
            status=400,
            code="INVALID_INPUT",
            says="Unable to parse request body as JSON",
        ),
        id="broken-json",
    ),
]


async def stored_documents() -> dict[str, int]:
    return {
        document.__name__: await document.find_all().count()
        for document in ALL_DOCUMENTS
    }


@pytest.mark.parametrize("hostile", ROWS)
async def test_hostile_request_is_refused_with_its_code_and_changes_nothing(
    hostile_client: httpx.AsyncClient,
    project: TestProject,
    hostile: Hostile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = await stored_documents()
    caplog.set_level(logging.INFO)

    response = await hostile_client.request(
        hostile.method,
        "/graphql",
        params=hostile.params,
        json=hostile.body if hostile.content is None else None,
        content=hostile.content,
        headers={
            "Authorization": f"Bearer {project.admin}",
            "Content-Type": hostile.content_type,
        },
    )

    assert response.status_code == hostile.status
    body = response.json()
    assert body.get("data") is None or all(
        value is None for value in body["data"].values()
    )
    errors = body["errors"]
    assert [error["extensions"]["code"] for error in errors][:1] == [hostile.code]
    assert hostile.says in errors[0]["message"]
    if hostile.not_says:
        assert hostile.not_says not in response.text
    assert await stored_documents() == before
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_unexpected_errors_are_masked_in_production_and_logged_once(
    hostile_client: httpx.AsyncClient,
    project: TestProject,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.services import calls

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("mongodb://user:secret@db.internal/ refused")

    monkeypatch.setattr(calls, "list_logs", broken)
    caplog.set_level(logging.INFO)

    response = await hostile_client.post(
        "/graphql",
        json={"query": "{ logs { totalCount } }"},
        headers={"Authorization": f"Bearer {project.reader}"},
    )

    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL"}
    assert "secret" not in response.text
    assert [
        r.levelname for r in caplog.records if "graphql.failed" in r.getMessage()
    ] == ["ERROR"]
