"""Every query, mutation, subscription and HTTP route, tried by project B on A's data.

Project A holds canary values; for each operation, B's keys try to read, count,
aggregate, subscribe to, update or delete them with A's ids. B must see no
canary, A's ids must answer exactly like ids that do not exist, and A's stored
data must not change. `test_every_operation_and_route_has_an_isolation_case`
fails when an operation or route is added without a case here.
"""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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

    async def http(
        self, method: str, path: str, *, key: str, body: Any = None
    ) -> httpx.Response:
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        self.seen.append(response.text)
        return response

    async def http_like_missing(
        self, method: str, path: str, a_value: str, *, key: str, body: Any = None
    ) -> httpx.Response:
        """An HTTP route asked about A's id and a missing id answers alike."""
        with_a = await self.http(method, path, key=key, body=body)
        with_missing = await self.http(
            method, path.replace(a_value, MISSING), key=key, body=body
        )
        assert with_a.status_code == with_missing.status_code
        assert without(with_a.text, a_value) == without(with_missing.text, MISSING)
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


@case("Query.sessionStats")
async def _session_stats(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($u: String) { sessionStats(filter: {userId: $u}) "
        "{ count totals { messageCount } costUsd { p50 } } }",
        {"u": t.user_id},
        t.user_id,
        key=t.b.reader,
    )
    assert body["data"]["sessionStats"]["count"] == 0


def _day_range() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1)).isoformat(),
    }


@case("Query.sessionOutliers")
async def _session_outliers(probe: Probe) -> None:
    body = await probe.ask(
        "query Q($r: ActivityRangeInput!) { sessionOutliers(range: $r, measure: COST,"
        " method: PERCENTILE, threshold: 1, limit: 100) "
        "{ items { value session { id userId metadata } } } }",
        {"r": _day_range()},
        key=probe.tenants.b.reader,
    )
    assert body["data"]["sessionOutliers"]["items"] == []


@case("Query.users")
async def _users(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($p: String) { users(filter: {idPrefix: $p}) { totalCount items { id } } }",
        {"p": t.user_id},
        t.user_id,
        key=t.b.reader,
    )
    assert body["data"]["users"] == {"totalCount": 0, "items": []}


@case("Query.user")
async def _user(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($id: ID!) { user(id: $id) { id costUsd models } }",
        {"id": t.user_id},
        t.user_id,
        key=t.b.reader,
    )
    assert body == {"data": {"user": None}}


@case("Query.topUsers")
async def _top_users(probe: Probe) -> None:
    for ranking in ("COST", "CALLS"):
        body = await probe.ask(
            "query Q($r: ActivityRangeInput!, $by: UserRanking!) { topUsers(range: $r,"
            " by: $by, limit: 100) { userId models user { id } } }",
            {"r": _day_range(), "by": ranking},
            key=probe.tenants.b.reader,
        )
        assert body["data"]["topUsers"] == []


@case("Query.userOutliers")
async def _user_outliers(probe: Probe) -> None:
    body = await probe.ask(
        "query Q($r: ActivityRangeInput!) { userOutliers(range: $r, measure: COST,"
        " method: PERCENTILE, threshold: 1, limit: 100) { items { usage { userId } } } }",
        {"r": _day_range()},
        key=probe.tenants.b.reader,
    )
    assert body["data"]["userOutliers"]["items"] == []


@case("Mutation.startSession")
async def _start_session(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.ask(
        "mutation M($id: ID) { startSession(input: {id: $id}) "
        "{ id userId metadata callCount messageCount } }",
        {"id": t.session_id},
        key=t.b.ingest,
    )
    # B's own, new session under the same id: nothing of A's comes with it.
    assert body["data"]["startSession"] == {
        "id": t.session_id,
        "userId": None,
        "metadata": {},
        "callCount": 0,
        "messageCount": 0,
    }


@case("Mutation.addSessionMessage")
async def _add_session_message(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.ask(
        "mutation M($s: ID!) { addSessionMessage(input: {sessionId: $s, role: USER, "
        'content: "from b"}) { created message { seq } session { messageCount '
        "callCount userId } } }",
        {"s": t.session_id},
        key=t.b.ingest,
    )
    added = body["data"]["addSessionMessage"]
    assert added["message"]["seq"] == 1
    assert added["session"] == {"messageCount": 1, "callCount": 0, "userId": None}


@case("Mutation.completeSession")
async def _complete_session(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "mutation M($id: ID!) { completeSession(id: $id) { id status } }",
        {"id": t.session_id},
        t.session_id,
        key=t.b.ingest,
    )
    assert codes(body) == ["NOT_FOUND"]


@case("Mutation.deleteSession")
async def _delete_session(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "mutation M($id: ID!) { deleteSession(id: $id) { id messagesDeleted } }",
        {"id": t.session_id},
        t.session_id,
        key=t.b.admin,
    )
    assert codes(body) == ["NOT_FOUND"]


# The origin's REST session routes --------------------------------------------


@case("/api/sessions")
async def _api_sessions(probe: Probe) -> None:
    t = probe.tenants
    listed = await probe.http_like_missing(
        "GET", f"/api/sessions?userId={t.user_id}", t.user_id, key=t.b.reader
    )
    assert listed.json()["total"] == 0
    started = await probe.http(
        "POST", "/api/sessions", key=t.b.ingest, body={"sessionId": t.session_id}
    )
    assert started.json()["session"]["userId"] is None


@case("/api/sessions/stats/summary")
async def _api_stats(probe: Probe) -> None:
    t = probe.tenants
    summary = await probe.http("GET", "/api/sessions/stats/summary", key=t.b.reader)
    assert summary.json() == {}


@case("/api/sessions/{session_id}")
async def _api_session(probe: Probe) -> None:
    t = probe.tenants
    path = f"/api/sessions/{t.session_id}"
    read = await probe.http_like_missing("GET", path, t.session_id, key=t.b.reader)
    deleted = await probe.http_like_missing("DELETE", path, t.session_id, key=t.b.admin)
    assert read.status_code == deleted.status_code == 404


@case("/api/sessions/{session_id}/messages")
async def _api_messages(probe: Probe) -> None:
    t = probe.tenants
    added = await probe.http(
        "POST",
        f"/api/sessions/{t.session_id}/messages",
        key=t.b.ingest,
        body={"role": "user", "content": "from b"},
    )
    # A message for an unknown session creates B's own session of that id.
    assert added.json()["session"]["messageCount"] == 1


@case("/api/sessions/{session_id}/complete")
async def _api_complete(probe: Probe) -> None:
    t = probe.tenants
    completed = await probe.http_like_missing(
        "PATCH", f"/api/sessions/{t.session_id}/complete", t.session_id, key=t.b.ingest
    )
    assert completed.status_code == 404


# Prices and batch ingest -------------------------------------------------------


@case("Query.customPrices")
async def _custom_prices(probe: Probe) -> None:
    body = await probe.ask(
        "{ customPrices { modelPattern provider inputPerMtok } }",
        key=probe.tenants.b.admin,
    )
    assert body["data"]["customPrices"] == []


@case("Query.unpricedModels")
async def _unpriced_models(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.like_missing(
        "query Q($u: String) { unpricedModels(filter: {userId: $u}) "
        "{ provider model callCount } }",
        {"u": t.user_id},
        t.user_id,
        key=t.b.reader,
    )
    assert body["data"]["unpricedModels"] == []


@case("Mutation.logCalls")
async def _log_calls(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.ask(
        "mutation M($inputs: [LogCallInput!]!) { logCalls(inputs: $inputs) "
        "{ storedCount duplicateCount results { id status } } }",
        {
            "inputs": [
                {"id": t.call_id, "provider": "openai", "model": "b-model"},
                {"id": "a-call-2", "provider": "openai", "model": "b-model"},
            ]
        },
        key=t.b.ingest,
    )
    # A's ids are new in B's project: stored as B's, not duplicates of A's.
    assert body["data"]["logCalls"]["storedCount"] == 2
    assert body["data"]["logCalls"]["duplicateCount"] == 0


CANARY_PRICE = {
    "modelPattern": f"{CANARY}-model",
    "effectiveFrom": "2020-01-01T00:00:00Z",
}


@case("Mutation.setCustomPrice")
async def _set_custom_price(probe: Probe) -> None:
    t = probe.tenants
    body = await probe.ask(
        "mutation M($p: String!) { setCustomPrice(input: {modelPattern: $p, "
        'inputPerMtok: 9, outputPerMtok: 9, effectiveFrom: "2020-01-01T00:00:00Z"}) '
        "{ inputPerMtok } }",
        {"p": "a-model-pattern"},
        key=t.b.admin,
    )
    assert body["data"]["setCustomPrice"] == {"inputPerMtok": 9.0}


@case("Mutation.deleteCustomPrice")
async def _delete_custom_price(probe: Probe) -> None:
    t = probe.tenants
    # B names A's price exactly (B sends the canary itself: it is B's input).
    response = await probe.client.post(
        "/graphql",
        json={
            "query": "mutation M($k: CustomPriceKeyInput!) { deleteCustomPrice(key: $k) }",
            "variables": {"k": CANARY_PRICE},
        },
        headers={"Authorization": f"Bearer {t.b.admin}"},
    )
    probe.seen.append(response.text)
    assert response.json() == {"data": {"deleteCustomPrice": False}}


@case("Mutation.repriceLogs")
async def _reprice_logs(probe: Probe) -> None:
    t = probe.tenants
    for dry_run in (True, False):
        body = await probe.ask(
            "mutation M($d: Boolean!) { repriceLogs(dryRun: $d) "
            "{ examinedCount changedCount models { model } } }",
            {"d": dry_run},
            key=t.b.admin,
        )
        assert body["data"]["repriceLogs"]["examinedCount"] == 0


@case("/v1/logs")
async def _v1_logs(probe: Probe) -> None:
    t = probe.tenants
    response = await probe.http(
        "POST",
        "/v1/logs",
        key=t.b.ingest,
        body={"logs": [{"id": t.call_id, "provider": "openai", "model": "b-model",
                        "sessionId": t.session_id}]},
    )  # fmt: skip
    assert response.json()["stored"] == 1


@case("/v1/traces")
async def _v1_traces(probe: Probe) -> None:
    t = probe.tenants
    now_ns = int(datetime.now(UTC).timestamp() * 1e9)
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "chat b-model",
        "startTimeUnixNano": str(now_ns - 10**9),
        "endTimeUnixNano": str(now_ns),
        "attributes": [
            {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "b-model"}},
            {"key": "gen_ai.conversation.id", "value": {"stringValue": t.session_id}},
        ],
    }
    response = await probe.http(
        "POST",
        "/v1/traces",
        key=t.b.ingest,
        body={"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]},
    )
    assert response.status_code == 200


@case("/api/logs")
async def _api_logs(probe: Probe) -> None:
    t = probe.tenants
    listed = await probe.http_like_missing(
        "GET", f"/api/logs?userId={t.user_id}", t.user_id, key=t.b.reader
    )
    assert listed.json()["total"] == 0
    created = await probe.http(
        "POST",
        "/api/logs",
        key=t.b.ingest,
        body={"id": t.call_id, "provider": "openai", "model": "b-model"},
    )
    assert created.status_code == 201


@case("/api/logs/{log_id}")
async def _api_log(probe: Probe) -> None:
    t = probe.tenants
    found = await probe.http_like_missing(
        "GET", f"/api/logs/{t.call_id}", t.call_id, key=t.b.reader
    )
    assert found.status_code == 404


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
