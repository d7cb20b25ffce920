"""Every query, mutation, subscription and HTTP route, tried by project B on A's data.

Project A holds canary values; for each operation, B's keys try to read, count,
aggregate, subscribe to, update or delete them with A's ids. B must see no
canary, A's ids must answer exactly like ids that do not exist, and A's stored
data must not change. `test_every_operation_and_route_has_an_isolation_case`
fails when an operation or route is added without a case here.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from app.schema import schema
from tests.isolation.tenants import CANARY, Tenants, a_state, seed_tenants, without
from tests.ws import graphql_socket

MISSING = "missing-0000"


@dataclass
class Probe:
    """B's side of one case: what it sends and everything it got back."""

    client: httpx.AsyncClient
    live_url: str
    tenants: Tenants
    seen: list[str] = field(default_factory=list)

    async def ask(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
        )
        self.seen.append(response.text)
        body: dict[str, Any] = response.json()
        return body

    async def like_missing(
        self, query: str, variables: dict[str, Any], a_value: str, *, key: str
    ) -> dict[str, Any]:
        """Ask with A's id and with a missing id; both answers must be alike."""
        with_a = await self.ask(query, variables, key=key)
        missing_vars = json.loads(json.dumps(variables).replace(a_value, MISSING))
        with_missing = await self.ask(query, missing_vars, key=key)
        assert without(json.dumps(with_a), a_value) == without(
            json.dumps(with_missing), MISSING
        )
        return with_a


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


type Case = Callable[[Probe], Awaitable[None]]
CASES: dict[str, Case] = {}
# Cases that make A write on purpose (to see whether B hears of it).
WRITES_AS_A: set[str] = set()


def case(name: str, *, writes_as_a: bool = False) -> Callable[[Case], Case]:
    def register(check: Case) -> Case:
        CASES[name] = check
        if writes_as_a:
            WRITES_AS_A.add(name)
        return check

    return register


# Queries ------------------------------------------------------------------


@case("Query.logs")
async def _logs(probe: Probe) -> None:
    t = probe.tenants
    for key in (t.b.reader, t.b.admin):
        filtered = await probe.like_missing(
            "query Q($u: String, $s: String) { logs(filter: {userId: $u, sessionId: $s})"
            " { totalCount items { id model } } }",
            {"u": t.user_id, "s": t.session_id},
            t.user_id,
            key=key,
        )
        assert filtered["data"]["logs"] == {"totalCount": 0, "items": []}
        # Every field of every call B can list (the canary check covers them).
        everything = await probe.ask(
            "{ logs(pagination: {first: 100}) { totalCount items { id model userId"
            " prompt response tags metadata environment error { type } } } }",
            key=key,
        )
        assert "errors" not in everything


@case("Query.log")
async def _log(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($id: ID!) { log(id: $id) { id model prompt } }",
        {"id": "a-call-2"},
        "a-call-2",
        key=t.b.reader,
    )
    assert body == {"data": {"log": None}}


@case("Query.sessions")
async def _sessions(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($u: String) { sessions(filter: {userId: $u}) "
        "{ totalCount items { id userId callCount } } }",
        {"u": t.user_id},
        t.user_id,
        key=t.b.reader,
    )
    assert body["data"]["sessions"] == {"totalCount": 0, "items": []}


@case("Query.session")
async def _session(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($id: ID!) { session(id: $id) { id userId calls { id model } } }",
        {"id": t.session_id},
        t.session_id,
        key=t.b.reader,
    )
    assert body == {"data": {"session": None}}


@case("Query.project")
async def _project(probe: Probe) -> None:
    t = probe.tenants
    for key in (t.b.reader, t.b.admin, t.b.ingest):
        body = await probe.like_missing(
            "query Q($id: ID) { project(id: $id) { id name } }",
            {"id": t.a.id},
            t.a.id,
            key=key,
        )
        assert body == {"data": {"project": None}}


@case("Query.projects")
async def _projects(probe: Probe) -> None:
    body = await probe.ask("{ projects { id name } }", key=probe.tenants.b.admin)
    assert codes(body) == ["FORBIDDEN"]


@case("Query.apiKeys")
async def _api_keys(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($p: ID) { apiKeys(project: $p) { id name } }",
        {"p": t.a.id},
        t.a.id,
        key=t.b.admin,
    )
    assert codes(body) == ["NOT_FOUND"]


# Mutations ----------------------------------------------------------------


@case("Mutation.logCall")
async def _log_call(probe: Probe) -> None:
    t = probe.tenants
    # B may use the same call and session ids: they are B's own, A's stay apart.
    body = await probe.ask(
        "mutation M($input: LogCallInput!) { logCall(input: $input) "
        "{ id model sessionId userId } }",
        {
            "input": {
                "id": t.call_id,
                "provider": "openai",
                "model": "b-model",
                "sessionId": t.session_id,
            }
        },
        key=t.b.ingest,
    )
    assert body["data"]["logCall"]["model"] == "b-model"
    session = await probe.ask(
        "query Q($id: ID!) { session(id: $id) { callCount userId } }",
        {"id": t.session_id},
        key=t.b.reader,
    )
    assert session["data"]["session"] == {"callCount": 1, "userId": None}


@case("Mutation.createProject")
async def _create_project(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.ask(
        'mutation M($s: String!) { createProject(input: {slug: $s, name: "x"}) '
        "{ project { id } } }",
        {"s": t.a.id},
        key=t.b.admin,
    )
    assert codes(body) == ["FORBIDDEN"]


@case("Mutation.renameProject")
async def _rename_project(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        'mutation M($p: ID) { renameProject(project: $p, name: "taken") { id name } }',
        {"p": t.a.id},
        t.a.id,
        key=t.b.admin,
    )
    assert codes(body) == ["NOT_FOUND"]


@case("Mutation.updateProjectSettings")
async def _update_settings(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "mutation M($p: ID) { updateProjectSettings(project: $p, "
        "input: {storeText: false}) { id } }",
        {"p": t.a.id},
        t.a.id,
        key=t.b.admin,
    )
    assert codes(body) == ["NOT_FOUND"]


@case("Mutation.deleteProject")
async def _delete_project(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "mutation M($p: ID!) { deleteProject(project: $p) { id } }",
        {"p": t.a.id},
        t.a.id,
        key=t.b.admin,
    )
    assert codes(body) == ["NOT_FOUND"]


@case("Mutation.createApiKey")
async def _create_api_key(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        'mutation M($p: ID) { createApiKey(input: {project: $p, name: "x", '
        "scopes: [READ]}) { secret } }",
        {"p": t.a.id},
        t.a.id,
        key=t.b.admin,
    )
    assert codes(body) == ["NOT_FOUND"]


@case("Mutation.revokeApiKey")
async def _revoke_api_key(probe: Probe) -> None:
    t = probe.tenants
    in_a = await probe.like_missing(
        "mutation M($p: ID, $k: ID!) { revokeApiKey(project: $p, keyId: $k) { id } }",
        {"p": t.a.id, "k": t.key_id},
        t.a.id,
        key=t.b.admin,
    )
    in_b = await probe.like_missing(
        "mutation M($k: ID!) { revokeApiKey(keyId: $k) { id } }",
        {"k": t.key_id},
        t.key_id,
        key=t.b.admin,
    )
    assert codes(in_a) == codes(in_b) == ["NOT_FOUND"]


# Subscriptions ------------------------------------------------------------


@case("Subscription.callLogged", writes_as_a=True)
async def _call_logged(probe: Probe) -> None:
    t = probe.tenants
    live = "subscription S($f: LogFilterInput) { callLogged(filter: $f) { id model } }"
    record = "mutation M($i: LogCallInput!) { logCall(input: $i) { id } }"
    async with graphql_socket(probe.live_url, t.b.reader) as socket:
        await socket.subscribe("all", live)
        await socket.subscribe("a-session", live, {"f": {"sessionId": t.session_id}})
        await asyncio.sleep(0.2)  # let both subscriptions register
        await probe.ask(
            record,
            {"i": {"id": "a-live", "provider": "p", "model": f"{CANARY}-live",
                   "sessionId": t.session_id}},
            key=t.a.ingest,
        )  # fmt: skip
        await probe.ask(
            record,
            {"i": {"id": "b-live", "provider": "p", "model": "b-live"}},
            key=t.b.ingest,
        )
        first = await socket.receive()
        probe.seen.append(json.dumps(first))
        # Only B's own call arrives, on the unfiltered subscription.
        assert first["id"] == "all"
        assert first["payload"]["data"]["callLogged"] == {
            "id": "b-live",
            "model": "b-live",
        }
        with pytest.raises(TimeoutError):
            probe.seen.append(json.dumps(await socket.receive(timeout_s=0.5)))


# HTTP routes --------------------------------------------------------------


@case("/graphql")
async def _graphql_route(probe: Probe) -> None:
    t = probe.tenants
    # A's key in the origin SDK's header counts only on /api/ routes, and a
    # bearer key always wins: B cannot borrow A's scope through a header.
    alone = await probe.client.post(
        "/graphql",
        json={"query": "{ logs { totalCount } }"},
        headers={"X-Project-ID": t.a.reader},
    )
    probe.seen.append(alone.text)
    mixed = await probe.client.post(
        "/graphql",
        json={"query": '{ logs(filter: {sessionId: "a-session-1"}) { totalCount } }'},
        headers={"Authorization": f"Bearer {t.b.reader}", "X-Project-ID": t.a.reader},
    )
    probe.seen.append(mixed.text)
    assert alone.status_code == 401
    assert mixed.json()["data"] == {"logs": {"totalCount": 0}}


@case("/healthz")
async def _healthz(probe: Probe) -> None:
    await _public_route(probe, "/healthz")


@case("/readyz")
async def _readyz(probe: Probe) -> None:
    await _public_route(probe, "/readyz")


@case("/metrics")
async def _metrics(probe: Probe) -> None:
    await _public_route(probe, "/metrics")
    # No tenant appears in metrics: labels are routes, codes and reasons.
    assert probe.tenants.a.id not in probe.seen[-1]


async def _public_route(probe: Probe, path: str) -> None:
    t = probe.tenants
    anonymous = await probe.client.get(path)
    as_b = await probe.client.get(
        path, headers={"Authorization": f"Bearer {t.b.admin}"}
    )
    probe.seen.extend([anonymous.text, as_b.text])
    assert anonymous.status_code == as_b.status_code == 200
    if path != "/metrics":  # counters move between the two requests
        assert anonymous.text == as_b.text


# The suite ----------------------------------------------------------------


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
