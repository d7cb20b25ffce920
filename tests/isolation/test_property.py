"""Random operations from the schema, sent with project B's key, find nothing of A.

hypothesis-graphql builds valid queries and mutations for every root field;
ID arguments are drawn from A's real ids (and String arguments from A's stored
values) so the generator aims at A's data. The run is bounded and
derandomized: the same examples run every time.
"""

import asyncio
import json
from collections.abc import Callable

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from starlette.applications import Starlette

from app.schema import schema
from tests.isolation.tenants import CANARY, Tenants, a_state, seed_tenants
from tests.strategies import datetime_nodes, json_nodes

SDL = schema.as_str()

# TODO: under this load a store connection is now and then garbage-collected
# unclosed (ResourceWarning from socket.__del__) after an error in one root
# field leaves its siblings to settle in the background (graphql-core 3.3);
# the descriptor is freed by the collector, so nothing leaks for long, but the
# warnings-as-errors policy would fail the run. Reproduce it without our code
# and report it upstream, then drop this filter.
pytestmark = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning"
)
BOUNDED = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def aimed_scalars(tenants: Tenants) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    ids = st.sampled_from([*tenants.a_ids(), "a-call-2", "missing"]).map(nodes.String)
    # A's ids, not its canary values: B must not plant canaries in its own data.
    strings = st.one_of(
        st.sampled_from([tenants.user_id, tenants.session_id, "openai"]),
        st.text(max_size=12),
    ).map(nodes.String)
    return {
        "ID": ids,
        "String": strings,
        "DateTime": datetime_nodes(),
        "JSON": json_nodes(),
    }


def leaks_in(query: str, answer: str) -> list[str]:
    """Canary text in the answer that the request itself did not contain."""
    body = json.loads(answer)
    found = []
    if CANARY in json.dumps(body.get("data")):
        found.append("data")
    for error in body.get("errors") or ():
        if error.get("extensions", {}).get("code") == "INTERNAL":
            found.append(f"unexpected error: {error['message']}")
        # An error may repeat what the caller sent, never anything else of A's.
        if CANARY in error.get("message", "") and CANARY not in query:
            found.append(error["message"])
    return found


def run_in_thread(
    client: httpx.AsyncClient, key: str
) -> tuple[asyncio.AbstractEventLoop, Callable[[str], str]]:
    """A blocking `post(query) -> text` for Hypothesis, served by this event loop."""
    loop = asyncio.get_running_loop()

    def post(query: str) -> str:
        future = asyncio.run_coroutine_threadsafe(
            client.post(
                "/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {key}"},
            ),
            loop,
        )
        return future.result(timeout=60).text

    return loop, post


async def test_random_queries_with_b_keys_find_nothing_of_a(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    tenants = await seed_tenants(client)
    before = await a_state(tenants)
    _, post = run_in_thread(client, tenants.b.admin)
    sent: list[str] = []

    @BOUNDED
    @given(query=queries(SDL, custom_scalars=aimed_scalars(tenants)))
    def no_leak(query: str) -> None:
        sent.append(query)
        answer = post(query)
        assert leaks_in(query, answer) == [], (query, answer)

    await asyncio.to_thread(no_leak)

    assert len(sent) >= 100
    assert any(tenants.call_id in query for query in sent)
    assert await a_state(tenants) == before


async def test_random_mutations_with_b_keys_change_nothing_of_a(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    tenants = await seed_tenants(client)
    before = await a_state(tenants)
    _, post = run_in_thread(client, tenants.b.admin)
    sent: list[str] = []

    @BOUNDED
    @given(mutation=mutations(SDL, custom_scalars=aimed_scalars(tenants)))
    def no_change(mutation: str) -> None:
        sent.append(mutation)
        answer = post(mutation)
        assert leaks_in(mutation, answer) == [], (mutation, answer)

    await asyncio.to_thread(no_change)

    assert any(tenants.a.id in mutation for mutation in sent)
    assert await a_state(tenants) == before
