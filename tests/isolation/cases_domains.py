"""Isolation cases: stats, users, outliers, prices, batch ingest, origin routes."""

from datetime import UTC, datetime, timedelta

from tests.isolation.probe import Probe, case, codes
from tests.isolation.tenants import CANARY


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
