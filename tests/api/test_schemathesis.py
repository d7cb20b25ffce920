"""Schemathesis fuzzes every query and mutation; no answer may be a server error.

The schema comes from the running app (introspection, as `from_asgi` loads
it), but requests go through the suite's in-process httpx client rather than
schemathesis' own ASGI client: that one runs the app on a second event loop,
where the store client of this session cannot be used. Hypothesis drives the
cases from a worker thread; each request runs on the session's loop.

A "server error" here is any 5xx, any error coded INTERNAL, or any error
without a code. Schemathesis' own `not_a_server_error` check treats every
resolver error as a server error unless it carries an Apollo or graphql-java
code, so it would flag our coded refusals (INVALID_INPUT, NOT_FOUND, ...) that
clients are meant to branch on; the check below encodes our contract instead.
"""

import asyncio
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import Failure
from schemathesis.generation.case import Case
from schemathesis.graphql import from_dict
from starlette.applications import Starlette

from tests.factories import TestProject, make_project
from tests.strategies import datetime_nodes, json_nodes

CASES_PER_OPERATION = 30

schemathesis.graphql.scalar("DateTime", datetime_nodes())
schemathesis.graphql.scalar("JSON", json_nodes())


class UncodedOrServerError(Failure):
    """A 5xx, an INTERNAL error or an error without `extensions.code`."""

    code = "LLMD001"
    kind_title = "Server error or uncoded error"


def no_server_error(ctx: Any, response: Any, case: Case[Any]) -> bool | None:
    if response.status_code >= 500:
        message = f"HTTP {response.status_code}: {response.text[:500]}"
        raise UncodedOrServerError(operation=case.operation.label, message=message)
    body = response.json()
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code is None or code == "INTERNAL":
            message = f"{code or 'no code'}: {error.get('message')}"
            raise UncodedOrServerError(operation=case.operation.label, message=message)
    return None


@pytest.fixture(scope="module")
async def fuzz_project(app: Starlette) -> TestProject:
    return await make_project()


async def test_schemathesis_finds_no_server_error_in_any_operation(
    client: httpx.AsyncClient, fuzz_project: TestProject
) -> None:
    headers = {"Authorization": f"Bearer {fuzz_project.admin}"}
    introspection = await client.post(
        "/graphql",
        json={"query": schemathesis.graphql.loaders.get_introspection_query()},
        headers=headers,
    )
    schema = from_dict(introspection.json()["data"])
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # an introspected schema has no invalid operations
    loop = asyncio.get_running_loop()
    checked: dict[str, int] = {}

    def fuzz(operation: Any) -> None:
        @settings(
            max_examples=CASES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def one_case(case: Case[Any]) -> None:
            sent = case.as_transport_kwargs(base_url="http://test/graphql")
            future = asyncio.run_coroutine_threadsafe(
                client.post("/graphql", json=sent["json"], headers=headers), loop
            )
            response = future.result(timeout=60)
            case.validate_response(
                response,
                checks=[no_server_error],
                additional_checks=[],
                headers=headers,
            )
            checked[operation.label] = checked.get(operation.label, 0) + 1

        one_case()

    for operation in operations:
        await asyncio.to_thread(fuzz, operation)

    assert set(checked) == {operation.label for operation in operations}
    assert all(count >= 5 for count in checked.values()), checked
