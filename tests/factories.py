"""Builders for test data and a small GraphQL client."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app.documents import Log, PendingTotals, Project, log_key
from app.documents.project import Scope
from app.services.keys import issue_key

# The server admin token of the test app (LLMD_ADMIN_TOKEN).
ADMIN_TOKEN = "test-admin-token-0123456789abcdefghijklmnop"


@dataclass(frozen=True)
class TestProject:
    """A project made for one test, with one key per scope set."""

    __test__ = False

    id: str
    admin: str
    reader: str
    ingest: str


async def make_project() -> TestProject:
    """A fresh project, so tests never see each other's data."""
    now = datetime.now(UTC)
    slug = f"test-{uuid.uuid4().hex[:10]}"
    scopes: dict[str, list[Scope]] = {
        "admin": ["admin", "read", "ingest"],
        "reader": ["read"],
        "ingest": ["ingest"],
    }
    issued = {name: issue_key(name, scope, now=now) for name, scope in scopes.items()}
    await Project(
        _id=slug,
        name=slug,
        created_at=now,
        api_keys=[key.api_key for key in issued.values()],
    ).insert()
    return TestProject(
        id=slug,
        admin=issued["admin"].secret,
        reader=issued["reader"].secret,
        ingest=issued["ingest"].secret,
    )


@dataclass(frozen=True)
class GraphQLResult:
    status_code: int
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    def error_codes(self) -> list[str | None]:
        return [
            error.get("extensions", {}).get("code") or error.get("code")
            for error in self.errors
        ]


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    key: str | None,
) -> GraphQLResult:
    """POST one operation; return status, data and errors."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    return GraphQLResult(
        status_code=response.status_code,
        data=body.get("data"),
        errors=body.get("errors") or ([body["error"]] if "error" in body else []),
    )


async def uncounted_call_ids(project: TestProject) -> set[str]:
    """Ids of the project's calls whose ingest batch is still open (not in the totals)."""
    open_batches = {
        str(batch.id)
        for batch in await PendingTotals.find({"project_id": project.id}).to_list()
    }
    logs = await Log.find({"project_id": project.id}).to_list()
    return {log.call_id for log in logs if log.totals_batch in open_batches}


async def reopen_batches(project: TestProject, call_ids: list[str]) -> None:
    """As if the requests that stored `call_ids` had failed before counting them."""
    for call_id in call_ids:
        stored = await Log.get(log_key(project.id, call_id))
        assert stored is not None
        assert stored.totals_batch is not None
        await PendingTotals.get_pymongo_collection().update_one(
            {"_id": stored.totals_batch},
            {
                "$setOnInsert": {
                    "project_id": project.id,
                    "created_at": datetime.now(UTC),
                    "claimed_until": None,
                },
                "$addToSet": {"call_keys": stored.id},
            },
            upsert=True,
        )
