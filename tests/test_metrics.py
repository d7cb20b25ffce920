"""`/metrics`: Prometheus text with requests, errors, ingest and store latency."""

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from tests.conftest import http_client, sibling_app
from tests.factories import TestProject, gql


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    name: str,
    **labels: str,
) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_errors_ingest_and_store_time(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    before = samples((await client.get("/metrics")).text)

    await gql(
        client,
        'mutation { logCall(input: {provider: "p", model: "m"}) { id } }',
        key=project.ingest,
    )
    await gql(
        client,
        'mutation { logCall(input: {provider: " ", model: "m"}) { id } }',
        key=project.ingest,
    )
    await gql(client, "{ logs { totalCount } }", key=project.ingest)
    response = await client.get("/metrics")
    after = samples(response.text)

    assert response.headers["content-type"].startswith("text/plain")

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("llmd_ingested_calls_total", source="graphql") == 1
    assert grew("llmd_ingest_batch_size_count", source="graphql") == 2
    assert grew("llmd_ingest_rejected_items_total", reason="invalid") == 1
    assert grew("llmd_errors_total", code="INVALID_INPUT") == 1
    assert grew("llmd_errors_total", code="FORBIDDEN") == 1
    assert (
        grew("llmd_http_requests_total", route="/graphql", method="POST", status="200")
        == 3
    )
    assert grew("llmd_store_operation_seconds_count", operation="record_calls") == 1
    assert "llmd_subscriptions_active" in response.text
    assert project.id not in response.text


async def test_metrics_need_no_key_and_can_be_turned_off(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    async with http_client(sibling_app(app, metrics_enabled=False)) as off:
        disabled = await off.get("/metrics")

    assert (await client.get("/metrics")).status_code == 200
    assert disabled.status_code == 404
