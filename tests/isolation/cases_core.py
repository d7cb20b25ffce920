"""Isolation cases: calls, sessions, projects and keys, live feeds, health routes."""

import asyncio
import contextlib
import json

import pytest

from tests.isolation.probe import Probe, case, codes
from tests.isolation.tenants import CANARY
from tests.ws import graphql_socket

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
    live = "subscription S($f: LiveCallFilterInput) { callLogged(filter: $f) { id model } }"
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


@case("Subscription.sessionUpdated", writes_as_a=True)
async def _session_updated(probe: Probe) -> None:
    t = probe.tenants
    live = (
        "subscription S($f: SessionUpdateFilterInput) { sessionUpdated(filter: $f) "
        "{ change session { id userId messageCount metadata } } }"
    )
    add = (
        "mutation M($s: ID!, $c: String) { addSessionMessage(input: {sessionId: $s, "
        "role: USER, content: $c}) { created } }"
    )
    async with graphql_socket(probe.live_url, t.b.reader) as socket:
        await socket.subscribe("all", live)
        await socket.subscribe("a-session", live, {"f": {"sessionId": t.session_id}})
        await asyncio.sleep(0.2)  # let both subscriptions register
        await probe.ask(add, {"s": t.session_id, "c": f"{CANARY}-live"}, key=t.a.ingest)
        await probe.ask(add, {"s": "b-session", "c": "b"}, key=t.b.ingest)
        updates = [await socket.receive()]
        with contextlib.suppress(TimeoutError):
            while True:
                updates.append(await socket.receive(timeout_s=0.5))
    probe.seen.extend(json.dumps(update) for update in updates)
    # Only B's own session changes arrive, on the unfiltered subscription.
    assert {update["id"] for update in updates} == {"all"}
    sessions = {
        update["payload"]["data"]["sessionUpdated"]["session"]["id"]
        for update in updates
    }
    assert sessions == {"b-session"}


@case("Subscription.usageTicked", writes_as_a=True)
async def _usage_ticked(probe: Probe) -> None:
    t = probe.tenants
    live = (
        "subscription S($f: LiveCallFilterInput) { usageTicked(filter: $f, "
        "windowMinutes: 60, intervalSeconds: 1) { callCount costUsd } }"
    )
    record = "mutation M($i: LogCallInput!) { logCall(input: $i) { id } }"
    async with graphql_socket(probe.live_url, t.b.reader) as socket:
        await socket.subscribe("all", live)
        await socket.subscribe("a-user", live, {"f": {"userId": t.user_id}})
        ticks = [await socket.receive(), await socket.receive()]
        await probe.ask(
            record,
            {
                "i": {
                    "provider": "openai",
                    "model": f"{CANARY}-tick",
                    "userId": t.user_id,
                }
            },
            key=t.a.ingest,
        )
        # A's calls, before and after subscribing, never count in B's totals.
        for _ in range(4):
            ticks.append(await socket.receive())
    probe.seen.extend(json.dumps(tick) for tick in ticks)
    assert {tick["id"] for tick in ticks} == {"all", "a-user"}
    for tick in ticks:
        assert tick["payload"]["data"]["usageTicked"]["callCount"] == 0


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
