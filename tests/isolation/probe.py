"""Project B's side of the isolation suite: the probe and the case registry."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.isolation.tenants import Tenants, without

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
