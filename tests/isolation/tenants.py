"""Two tenants: project A seeded with canary values, project B that must never see them."""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from app.documents import ALL_DOCUMENTS, Project
from tests.factories import TestProject, gql, make_project

# Every value A stores carries this marker; no answer to B may contain it.
CANARY = "CANARY-A"


@dataclass(frozen=True)
class Tenants:
    """Project A (seeded) and project B, with A's ids that B will try."""

    a: TestProject
    b: TestProject
    call_id: str
    session_id: str
    user_id: str
    key_id: str

    def a_ids(self) -> list[str]:
        return [self.a.id, self.call_id, self.session_id, self.key_id]


SEED_CALL = """
mutation Seed($input: LogCallInput!) { logCall(input: $input) { id } }
"""


async def seed_tenants(client: httpx.AsyncClient) -> Tenants:
    """Make A and B; give A a call, a session, a user, a named key and a name."""
    a = await make_project()
    b = await make_project()
    call_id, session_id, user_id = "a-call-1", "a-session-1", "a-user-1"
    for index in range(2):
        seeded = await gql(
            client,
            SEED_CALL,
            {
                "input": {
                    "id": call_id if index == 0 else f"a-call-{index + 1}",
                    "provider": "openai",
                    "model": f"{CANARY}-model",
                    "userId": user_id,
                    "sessionId": session_id,
                    "environment": f"{CANARY}-env",
                    "tags": [f"{CANARY}-tag"],
                    "metadata": {"note": f"{CANARY}-metadata"},
                    "prompt": f"{CANARY}-prompt",
                    "response": f"{CANARY}-response",
                    "promptTokens": 10,
                    "completionTokens": 5,
                    "errorType": f"{CANARY}-error",
                }
            },
            key=a.ingest,
        )
        assert seeded.errors == [], seeded.errors
    started = await gql(
        client,
        'mutation { startSession(input: {id: "a-session-2", userId: "a-user-1", '
        'metadata: {note: "CANARY-A-session-metadata"}}) { id } }',
        key=a.admin,
    )
    assert started.errors == [], started.errors
    message = await gql(
        client,
        'mutation { addSessionMessage(input: {sessionId: "a-session-1", role: USER,'
        ' content: "CANARY-A-message", costUsd: 0.5}) { created } }',
        key=a.admin,
    )
    assert message.errors == [], message.errors
    priced = await gql(
        client,
        'mutation { setCustomPrice(input: {modelPattern: "CANARY-A-model", '
        'inputPerMtok: 1.5, outputPerMtok: 2.5, effectiveFrom: "2020-01-01T00:00:00Z"})'
        " { modelPattern } }",
        key=a.admin,
    )
    assert priced.errors == [], priced.errors
    renamed = await gql(
        client,
        'mutation { renameProject(name: "CANARY-A-project") { id } }',
        key=a.admin,
    )
    assert renamed.errors == []
    made = await gql(
        client,
        'mutation { createApiKey(input: {name: "CANARY-A-key", scopes: [READ]}) '
        "{ apiKey { id } } }",
        key=a.admin,
    )
    assert made.data is not None
    return Tenants(
        a=a,
        b=b,
        call_id=call_id,
        session_id=session_id,
        user_id=user_id,
        key_id=made.data["createApiKey"]["apiKey"]["id"],
    )


async def a_state(tenants: Tenants) -> str:
    """Everything stored for A, as canonical text (key use times left out)."""
    state: dict[str, Any] = {}
    for document in ALL_DOCUMENTS:
        collection = document.get_pymongo_collection()
        if document is Project:
            rows = await collection.find({"_id": tenants.a.id}).to_list()
            for row in rows:
                for api_key in row.get("api_keys", []):
                    api_key.pop("last_used_at", None)
        else:
            rows = (
                await collection.find({"project_id": tenants.a.id})
                .sort("_id", 1)
                .to_list()
            )
        state[collection.name] = rows
    return json.dumps(state, sort_keys=True, default=str)


def without(text: str, *values: str) -> str:
    """`text` with each of `values` replaced by one placeholder."""
    for value in values:
        text = text.replace(value, "<ID>")
    return text
