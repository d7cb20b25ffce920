"""usageTicked over a real WebSocket: seeded totals, live updates, bounds."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.api.test_live_feeds import call, record
from tests.factories import TestProject
from tests.live_helpers import LiveClient

USAGE = """
subscription Usage($filter: LiveCallFilterInput, $interval: Int!, $window: Int!) {
  usageTicked(filter: $filter, intervalSeconds: $interval, windowMinutes: $window) {
    windowStart windowEnd windowMinutes callCount errorCount errorRate costUsd
    unpricedCallCount promptTokens completionTokens totalTokens
    latencyP50Ms latencyP95Ms complete
  }
}
"""


def minutes_ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


async def next_tick(live: LiveClient, operation_id: str) -> dict[str, Any]:
    tick: dict[str, Any] = (await live.next_data(operation_id))["usageTicked"]
    return tick


async def test_usage_ticked_starts_from_stored_calls_and_adds_new_ones(
    app: Starlette,
    client: httpx.AsyncClient,
    live_url: str,
    project: TestProject,
    other_project: TestProject,
) -> None:
    for index, (duration, status) in enumerate(
        [(100.0, "SUCCESS"), (200.0, "ERROR"), (300.0, "SUCCESS")]
    ):
        await record(
            client,
            project.ingest,
            call(f"seed-{index}", durationMs=duration, status=status, costUsd=0.01),
        )
    # Outside the five-minute window, and another project's call: neither counts.
    await record(client, project.ingest, call("old", timestamp=minutes_ago(10)))
    await record(client, other_project.ingest, call("elsewhere"))

    async with LiveClient.open(live_url, project.reader) as live:
        usage = await live.subscribe(USAGE, {"interval": 1, "window": 5})
        first = await next_tick(live, usage)
        await record(
            client, project.ingest, call("live", model="no-such-model", durationMs=10)
        )
        tick = await next_tick(live, usage)
        while tick["callCount"] < 4:
            tick = await next_tick(live, usage)

    assert first["callCount"] == 3
    assert first["errorCount"] == 1
    assert first["errorRate"] == pytest.approx(1 / 3)
    assert first["costUsd"] == pytest.approx(0.03)
    assert first["promptTokens"] == 300
    assert first["completionTokens"] == 60
    assert first["totalTokens"] == 360
    assert first["latencyP50Ms"] == pytest.approx(200, rel=0.01)
    assert first["latencyP95Ms"] == pytest.approx(300, rel=0.01)
    assert first["windowMinutes"] == 5
    assert first["complete"] is True
    window_start = datetime.fromisoformat(first["windowStart"])
    window_end = datetime.fromisoformat(first["windowEnd"])
    assert (
        timedelta(minutes=5)
        <= window_end - window_start
        <= timedelta(minutes=5, seconds=2)
    )

    assert tick["callCount"] == 4
    assert tick["unpricedCallCount"] == 1
    assert tick["costUsd"] == pytest.approx(0.03)
    assert tick["latencyP50Ms"] == pytest.approx(100, rel=0.01)


async def test_usage_ticked_counts_only_calls_matching_the_filter(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    await record(client, project.ingest, call("a1", provider="anthropic"))
    await record(client, project.ingest, call("o1"))

    async with LiveClient.open(live_url, project.reader) as live:
        usage = await live.subscribe(
            USAGE,
            {"filter": {"providers": ["anthropic"]}, "interval": 1, "window": 1},
        )
        first = await next_tick(live, usage)
        await record(client, project.ingest, call("o2"))
        await record(client, project.ingest, call("a2", provider="anthropic"))
        tick = await next_tick(live, usage)
        while tick["callCount"] < 2:
            tick = await next_tick(live, usage)

    assert first["callCount"] == 1
    assert tick["callCount"] == 2
    assert tick["promptTokens"] == 200


async def test_usage_ticked_ignores_a_live_call_that_started_before_the_window(
    app: Starlette, client: httpx.AsyncClient, live_url: str, project: TestProject
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        usage = await live.subscribe(USAGE, {"interval": 1, "window": 1})
        await next_tick(live, usage)
        await record(client, project.ingest, call("late", timestamp=minutes_ago(3)))
        await record(client, project.ingest, call("now"))
        tick = await next_tick(live, usage)
        while tick["callCount"] < 1:
            tick = await next_tick(live, usage)

    assert tick["callCount"] == 1


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        pytest.param({"interval": 0, "window": 5}, "intervalSeconds", id="interval 0"),
        pytest.param(
            {"interval": 301, "window": 5}, "intervalSeconds", id="interval 301"
        ),
        pytest.param({"interval": 10, "window": 0}, "windowMinutes", id="window 0"),
        pytest.param({"interval": 10, "window": 61}, "windowMinutes", id="window 61"),
    ],
)
async def test_usage_ticked_rejects_out_of_range_arguments_naming_them(
    live_url: str, project: TestProject, variables: dict[str, int], field: str
) -> None:
    async with LiveClient.open(live_url, project.reader) as live:
        usage = await live.subscribe(USAGE, variables)
        message = await live.next_message(usage)

    errors = LiveClient.errors_of(message)
    assert errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": field}
    assert "must be between" in errors[0]["message"]
