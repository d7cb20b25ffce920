"""Outliers on a crafted project: one big spender, one bot, twenty ordinary users."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.pubsub import Broker
from tests.api.conversations import seed_calls
from tests.factories import TestProject, gql

SESSION_OUTLIERS = """
query Outliers($range: ActivityRangeInput!, $measure: SessionOutlierMeasure,
               $method: OutlierMethod, $threshold: Float, $limit: Int) {
  sessionOutliers(range: $range, measure: $measure, method: $method,
                  threshold: $threshold, limit: $limit) {
    cut { method threshold population median spread cutoff }
    items { value score session { id userId costUsd callCount } }
  }
}
"""

USER_OUTLIERS = """
query Outliers($range: ActivityRangeInput!, $measure: UserOutlierMeasure) {
  userOutliers(range: $range, measure: $measure) {
    cut { population median cutoff }
    items { value usage { userId callCount costUsd user { sessionCount } } }
  }
}
"""

NORMAL_COSTS = [0.08, 0.09, 0.10, 0.11, 0.12]


async def seed(broker: Broker, project: TestProject) -> dict[str, str]:
    """20 ordinary sessions, a whale and a bot; returns the range covering them."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=40)
    calls: list[dict[str, Any]] = []
    for index in range(20):
        cost = NORMAL_COSTS[index % 5]
        for minute in (0, 10):  # 2 calls, 10 minutes apart: 0.2 calls a minute
            calls.append(
                {
                    "user": f"u{index:02}",
                    "session": f"n{index:02}",
                    "cost": cost / 2,
                    "at": start + timedelta(minutes=minute),
                }
            )
    for minute in (0, 10):
        calls.append(
            {
                "user": "whale",
                "session": "whale",
                "cost": 2.5,
                "at": start + timedelta(minutes=minute),
            }
        )
    for _ in range(40):  # 40 calls in the same instant
        calls.append(
            {
                "user": "bot",
                "session": "bot",
                "cost": 0.002,
                "at": start + timedelta(minutes=5),
            }
        )
    await seed_calls(
        broker,
        project,
        [
            {
                "id": f"c{index}",
                "user_id": spec["user"],
                "session_id": spec["session"],
                "cost_usd": spec["cost"],
                "timestamp": spec["at"],
            }
            for index, spec in enumerate(calls)
        ],
    )
    return {
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(minutes=1)).isoformat(),
    }


async def outliers(
    client: httpx.AsyncClient, key: str, **variables: Any
) -> dict[str, Any]:
    result = await gql(client, SESSION_OUTLIERS, variables, key=key)
    assert result.errors == [], result.errors
    assert result.data is not None
    report: dict[str, Any] = result.data["sessionOutliers"]
    return report


async def test_the_big_spender_the_bot_and_nobody_else_stand_out(
    app: Starlette,
    client: httpx.AsyncClient,
    project: TestProject,
    other_project: TestProject,
) -> None:
    window = await seed(app.state.broker, project)
    key = project.reader

    by_cost = await outliers(client, key, range=window)
    by_calls = await outliers(client, key, range=window, measure="CALLS")
    by_rate = await outliers(client, key, range=window, measure="CALL_RATE")

    # Costs: 0.08 x5 (4 ordinary + the bot's 0.08), 0.09 0.10 0.11 0.12 x4, 5.0.
    # Median 0.10; deviations have median 0.01 -> spread 0.014826;
    # cut 0.10 + 3.5 x 0.014826.
    cut = by_cost["cut"]
    assert cut["method"] == "MAD"
    assert cut["threshold"] == 3.5
    assert cut["population"] == 22
    assert cut["median"] == pytest.approx(0.10)
    assert cut["spread"] == pytest.approx(0.014826)
    assert cut["cutoff"] == pytest.approx(0.10 + 3.5 * 0.014826)
    assert [item["session"]["id"] for item in by_cost["items"]] == ["whale"]
    assert by_cost["items"][0]["value"] == 5.0
    assert by_cost["items"][0]["score"] == pytest.approx(4.9 / 0.014826)
    assert [item["session"]["id"] for item in by_calls["items"]] == ["bot"]
    # Rates: 0.2 a minute for 21 sessions, 40 for the bot (0 minutes count as 1).
    assert by_rate["items"][0]["session"] == {
        "id": "bot",
        "userId": "bot",
        "costUsd": pytest.approx(0.08),
        "callCount": 40,
    }
    assert by_rate["items"][0]["value"] == 40.0
    assert len(by_rate["items"]) == 1

    users = await gql(client, USER_OUTLIERS, {"range": window}, key=key)
    busy = await gql(
        client, USER_OUTLIERS, {"range": window, "measure": "CALLS"}, key=key
    )
    assert users.data is not None
    assert busy.data is not None
    assert users.data["userOutliers"]["cut"]["population"] == 22
    assert [
        (item["usage"]["userId"], item["value"], item["usage"]["user"])
        for item in users.data["userOutliers"]["items"]
    ] == [("whale", 5.0, {"sessionCount": 1})]
    assert [item["usage"]["userId"] for item in busy.data["userOutliers"]["items"]] == [
        "bot"
    ]

    unseen = await outliers(client, other_project.reader, range=window)
    assert unseen == {
        "cut": {
            "method": "MAD",
            "threshold": 3.5,
            "population": 0,
            "median": None,
            "spread": None,
            "cutoff": None,
        },
        "items": [],
    }


async def test_the_percentile_rule_and_the_limit(
    app: Starlette, client: httpx.AsyncClient, project: TestProject
) -> None:
    window = await seed(app.state.broker, project)

    top_half = await outliers(
        client,
        project.reader,
        range=window,
        method="PERCENTILE",
        threshold=50,
        limit=3,
    )
    default = await outliers(client, project.reader, range=window, method="PERCENTILE")

    # Nearest rank 50 of 22 values is the 11th: 0.10; above it 0.11 x4, 0.12 x4, 5.0.
    assert top_half["cut"]["cutoff"] == pytest.approx(0.10)
    assert [item["session"]["id"] for item in top_half["items"]] == [
        "whale",
        "n04",
        "n09",
    ]
    assert default["cut"]["threshold"] == 99
    assert [item["session"]["id"] for item in default["items"]] == []
