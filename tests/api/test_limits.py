"""Rate limits, operation timeouts, CORS and GraphiQL: careless and hostile clients."""

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from websockets.exceptions import InvalidStatus

from app.documents import Log
from tests.conftest import http_client, sibling_app
from tests.factories import TestProject, gql
from tests.live_helpers import serve
from tests.ws import graphql_socket

COUNT = "query Count { logs { totalCount } }"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_headers(
    app: Starlette, project: TestProject
) -> None:
    # One token per 100 s: the bucket cannot refill while the test runs.
    limited = sibling_app(app, rate_limit_per_s=0.01, rate_limit_burst=3)
    async with http_client(limited) as client:
        answers = [
            await client.post("/graphql", json={"query": COUNT}, headers=bearer(key))
            for key in [project.reader] * 4 + [project.admin]
        ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 200]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == [
        "2",
        "1",
        "0",
        "0",
        "2",
    ]
    refused = answers[3]
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert int(refused.headers["Retry-After"]) >= 1
    assert int(refused.headers["X-RateLimit-Reset"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfterS"] == int(refused.headers["Retry-After"])


async def test_an_address_presenting_unknown_keys_is_slowed_down(
    app: Starlette,
) -> None:
    limited = sibling_app(app, rate_limit_per_s=0.01, rate_limit_burst=2)
    async with http_client(limited) as client:
        codes = [
            (
                await client.post(
                    "/graphql", json={"query": COUNT}, headers=bearer(f"llmd_x_{n}")
                )
            ).status_code
            for n in range(3)
        ]

    assert codes == [401, 401, 429]


async def test_operations_over_a_websocket_are_charged_to_the_key(
    app: Starlette, project: TestProject
) -> None:
    limited = sibling_app(app, rate_limit_per_s=0.01, rate_limit_burst=2)
    async with (
        serve(limited, ws_max_size=256 * 1024) as address,
        graphql_socket(address, project.reader) as socket,
    ):
        for operation_id in ("1", "2", "3"):
            await socket.subscribe(operation_id, COUNT)
        answers: dict[str, list[dict[str, Any]]] = {}
        while (
            len([m for ms in answers.values() for m in ms if m["type"] != "next"]) < 3
        ):
            message = await socket.receive()
            answers.setdefault(message["id"], []).append(message)

    assert [m["type"] for m in answers["1"]] == ["next", "complete"]
    assert [m["type"] for m in answers["2"]] == ["next", "complete"]
    assert answers["3"][0]["type"] == "error"
    assert answers["3"][0]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_an_operation_over_its_time_is_cancelled_with_504_and_writes_nothing(
    app: Starlette, project: TestProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import calls

    reached = asyncio.Event()
    cancelled = asyncio.Event()
    original = calls.ingest_rules

    async def stuck(*args: Any, **kwargs: Any) -> calls.IngestRules:
        reached.set()
        try:
            await asyncio.Event().wait()  # a store that never answers
        finally:
            cancelled.set()
        return await original(*args, **kwargs)  # pragma: no cover - never reached

    monkeypatch.setattr(calls, "ingest_rules", stuck)
    timed = sibling_app(app, operation_timeout_s=0.2)
    mutation = (
        'mutation { logCall(input: {id: "late", provider: "p", model: "m"}) { id } }'
    )
    async with http_client(timed) as client:
        response = await client.post(
            "/graphql", json={"query": mutation}, headers=bearer(project.ingest)
        )

    assert response.status_code == 504
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "narrow the time range" in error["message"]
    assert reached.is_set()
    assert cancelled.is_set()
    assert await Log.find({"project_id": project.id}).count() == 0


async def test_cors_is_closed_outside_development_unless_origins_are_listed(
    app: Starlette,
) -> None:
    preflight = {
        "Origin": "https://dash.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    closed = sibling_app(app, environment="production")
    listed = sibling_app(
        app, environment="production", cors_origins=["https://dash.example.com"]
    )
    development = sibling_app(app, environment="development")

    async with http_client(closed) as client:
        refused = await client.options("/graphql", headers=preflight)
    async with http_client(listed) as client:
        allowed = await client.options("/graphql", headers=preflight)
        other = await client.options(
            "/graphql", headers={**preflight, "Origin": "https://evil.example"}
        )
    async with http_client(development) as client:
        open_in_dev = await client.options("/graphql", headers=preflight)

    assert "access-control-allow-origin" not in refused.headers
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example.com"
    assert "access-control-allow-origin" not in other.headers
    assert open_in_dev.headers["access-control-allow-origin"] == "*"


async def test_a_cross_site_websocket_is_refused_unless_its_origin_is_listed(
    live_url: str, project: TestProject
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with graphql_socket(
            live_url, project.reader, origin="https://evil.example"
        ):
            pass  # pragma: no cover - the handshake is refused

    assert refused.value.response.status_code == 403
    async with graphql_socket(live_url, project.reader) as socket:
        await socket.subscribe("1", COUNT)
        assert (await socket.receive())["type"] == "next"


async def test_graphiql_is_served_only_in_development(
    app: Starlette, project: TestProject
) -> None:
    html = {"Accept": "text/html"}
    async with http_client(sibling_app(app, environment="development")) as client:
        page = await client.get("/graphql", headers=html)
    async with http_client(sibling_app(app, environment="production")) as client:
        none = await client.get("/graphql", headers=html)

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert none.status_code == 404
    assert none.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_introspection_works_outside_production_for_tools(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    result = await gql(
        client, "{ __schema { queryType { name } } }", key=project.reader
    )

    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}
