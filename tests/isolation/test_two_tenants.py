"""Every query, mutation, subscription and HTTP route, tried by project B on A's data.

Project A holds canary values; for each operation, B's keys try to read, count,
aggregate, subscribe to, update or delete them with A's ids. B must see no
canary, A's ids must answer exactly like ids that do not exist, and A's stored
data must not change. `test_every_operation_and_route_has_an_isolation_case`
fails when an operation or route is added without a case in `cases_core.py`,
`cases_domains.py` or `cases_usage.py` (the probe and the registry are in `probe.py`).
"""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from app.schema import schema
from tests.isolation import cases_core, cases_domains, cases_usage
from tests.isolation.probe import CASES, WRITES_AS_A, Probe
from tests.isolation.tenants import CANARY, Tenants, a_state, seed_tenants

# Importing the case modules registers their cases.
CASE_MODULES = (cases_core, cases_domains, cases_usage)


@pytest.fixture
async def tenants(app: Starlette, client: httpx.AsyncClient) -> Tenants:
    # Fresh per case: a case's own writes (B reusing A's ids) must not leak
    # into the next case's expectations.
    return await seed_tenants(client)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_project_b_cannot_reach_project_a(
    name: str, client: httpx.AsyncClient, live_url: str, tenants: Tenants
) -> None:
    probe = Probe(client=client, live_url=live_url, tenants=tenants)
    before = await a_state(tenants)

    await CASES[name](probe)

    assert probe.seen, "the case sent nothing"
    for text in probe.seen:
        assert CANARY not in text
    if name not in WRITES_AS_A:
        assert await a_state(tenants) == before


def test_every_operation_and_route_has_an_isolation_case(app: Starlette) -> None:
    graphql = schema._schema
    operations = {
        f"{root.name}.{name}"
        for root in (
            graphql.query_type,
            graphql.mutation_type,
            graphql.subscription_type,
        )
        if root is not None
        for name in root.fields
    }
    routes = {
        route.path
        for route in app.router.routes
        if isinstance(route, Route | WebSocketRoute)
    }

    assert operations | routes == set(CASES)
