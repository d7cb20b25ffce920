"""Custom prices, unpriced models and repricing through GraphQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from genai_prices import Usage, calc_price

from app.documents import Project
from tests.api.test_log_call import LOG_CALL, call
from tests.api.test_log_calls import log_calls
from tests.factories import TestProject, gql

SET_PRICE = """
mutation Set($input: CustomPriceInput!) {
  setCustomPrice(input: $input) {
    modelPattern provider effectiveFrom inputPerMtok outputPerMtok cachedInputPerMtok
  }
}
"""
DELETE_PRICE = """
mutation Delete($key: CustomPriceKeyInput!) { deleteCustomPrice(key: $key) }
"""
LIST_PRICES = (
    "query { customPrices { modelPattern provider effectiveFrom inputPerMtok } }"
)
UNPRICED = """
query Unpriced($filter: LogFilterInput) {
  unpricedModels(filter: $filter) { provider model callCount firstSeen lastSeen }
}
"""
REPRICE = """
mutation Reprice($filter: LogFilterInput, $dryRun: Boolean!) {
  repriceLogs(filter: $filter, dryRun: $dryRun) {
    dryRun examinedCount changedCount costDeltaUsd
    models {
      provider model callCount oldCostUsd newCostUsd costDeltaUsd
      newlyPricedCount newlyUnpricedCount
    }
  }
}
"""
COSTS = """
query Costs {
  logs { items { id costUsd costSource priceVersion } }
  session(id: "s") { costUsd }
  user(id: "u") { costUsd }
}
"""
SINCE = "2026-01-01T00:00:00Z"
WHEN = "2026-11-01T00:00:00Z"


def price(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "modelPattern": "acme-*",
        "effectiveFrom": SINCE,
        "inputPerMtok": 2.0,
        "outputPerMtok": 8.0,
    }
    return base | overrides


async def set_price(client: httpx.AsyncClient, key: str, **overrides: Any) -> Any:
    result = await gql(client, SET_PRICE, {"input": price(**overrides)}, key=key)
    assert result.errors == [], result.errors
    assert result.data is not None
    return result.data["setCustomPrice"]


async def costs(client: httpx.AsyncClient, key: str) -> tuple[dict[str, Any], Any]:
    result = await gql(client, COSTS, key=key)
    assert result.errors == []
    assert result.data is not None
    by_id = {item["id"]: item for item in result.data["logs"]["items"]}
    # The user's cost total follows its calls exactly like the session's.
    assert result.data["user"] == result.data["session"]
    return by_id, result.data["session"]


async def test_custom_prices_are_set_normalised_listed_replaced_and_deleted(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    stored = await set_price(
        client, project.admin, modelPattern="  ACME-* ", provider="Azure_OpenAI"
    )
    assert stored["modelPattern"] == "acme-*"
    assert stored["provider"] == "azure"
    assert stored["cachedInputPerMtok"] is None

    await set_price(
        client, project.admin, modelPattern="acme-*", provider="azure", inputPerMtok=3.0
    )
    await set_price(client, project.admin, modelPattern="other")
    listed = await gql(client, LIST_PRICES, key=project.reader)
    assert listed.data == {
        "customPrices": [
            {
                "modelPattern": "acme-*",
                "provider": "azure",
                "effectiveFrom": "2026-01-01T00:00:00+00:00",
                "inputPerMtok": 3.0,
            },
            {
                "modelPattern": "other",
                "provider": None,
                "effectiveFrom": "2026-01-01T00:00:00+00:00",
                "inputPerMtok": 2.0,
            },
        ]
    }

    key = {"modelPattern": "other", "effectiveFrom": SINCE}
    first = await gql(client, DELETE_PRICE, {"key": key}, key=project.admin)
    again = await gql(client, DELETE_PRICE, {"key": key}, key=project.admin)
    assert (first.data, again.data) == (
        {"deleteCustomPrice": True},
        {"deleteCustomPrice": False},
    )
    remaining = await gql(client, LIST_PRICES, key=project.reader)
    assert remaining.data is not None
    assert [row["modelPattern"] for row in remaining.data["customPrices"]] == ["acme-*"]


@pytest.mark.parametrize(
    ("overrides", "field", "hint"),
    [
        pytest.param(
            {"inputPerMtok": -1.0},
            "inputPerMtok",
            "greater than or equal",
            id="negative",
        ),
        pytest.param(
            {"modelPattern": "   "}, "modelPattern", "at least 1", id="blank pattern"
        ),
        pytest.param(
            {"modelPattern": "m" * 300},
            "modelPattern",
            "limit is 256",
            id="long pattern",
        ),
        pytest.param(
            {"effectiveFrom": "2026-01-01T00:00:00"},
            "effectiveFrom",
            "time zone",
            id="naive date",
        ),
    ],
)
async def test_an_invalid_custom_price_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    project: TestProject,
    overrides: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    result = await gql(
        client, SET_PRICE, {"input": price(**overrides)}, key=project.admin
    )

    assert result.error_codes() == ["INVALID_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert hint in result.errors[0]["message"]


async def test_only_admin_keys_change_prices_or_reprice(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    for key in (project.reader, project.ingest):
        changed = await gql(client, SET_PRICE, {"input": price()}, key=key)
        repriced = await gql(client, REPRICE, {"dryRun": True}, key=key)
        assert changed.error_codes() == ["FORBIDDEN"]
        assert repriced.error_codes() == ["FORBIDDEN"]


async def test_new_calls_use_a_custom_price_at_once(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await set_price(client, project.admin, cachedInputPerMtok=0.5)

    result = await gql(
        client,
        LOG_CALL,
        {
            "input": call(
                model="acme-large",
                provider="acme",
                promptTokens=1_000_000,
                cachedPromptTokens=400_000,
                completionTokens=100_000,
                timestamp=WHEN,
            )
        },
        key=project.ingest,
    )

    assert result.data is not None
    logged = result.data["logCall"]
    assert logged["costSource"] == "CUSTOM"
    # 600k uncached at $2, 400k cached at $0.5, 100k output at $8 per million.
    assert logged["costUsd"] == pytest.approx(1.2 + 0.2 + 0.8)


async def test_unpriced_models_are_counted_per_provider_and_model(
    client: httpx.AsyncClient, project: TestProject, other_project: TestProject
) -> None:
    now = datetime.now(UTC)
    recent = (now - timedelta(days=1)).isoformat()
    old = (now - timedelta(days=45)).isoformat()
    await log_calls(
        client,
        [
            call(provider="acme", model="acme-large", timestamp=recent),
            call(provider="acme", model="acme-large", timestamp=recent),
            call(provider="acme", model="acme-small", timestamp=recent),
            call(provider="acme", model="acme-small", timestamp=old),
            call(model="gpt-4o", timestamp=recent),
            call(provider="acme", model="acme-reported", costUsd=0.5, timestamp=recent),
        ],
        key=project.ingest,
    )
    await log_calls(
        client, [call(provider="acme", model="secret-model")], key=other_project.ingest
    )

    default = await gql(client, UNPRICED, key=project.reader)
    wider = await gql(
        client,
        UNPRICED,
        {"filter": {"start": (now - timedelta(days=60)).isoformat()}},
        key=project.reader,
    )

    assert default.data is not None
    assert [
        (row["provider"], row["model"], row["callCount"])
        for row in default.data["unpricedModels"]
    ] == [("acme", "acme-large", 2), ("acme", "acme-small", 1)]
    assert wider.data is not None
    assert [
        (row["model"], row["callCount"]) for row in wider.data["unpricedModels"]
    ] == [("acme-large", 2), ("acme-small", 2)]


async def seed_for_reprice(client: httpx.AsyncClient, project: TestProject) -> None:
    """Two unpriced acme calls, one table-priced gpt-4o call, one reported cost."""
    payload = await log_calls(
        client,
        [
            call(
                id="a1",
                provider="acme",
                model="acme-large",
                sessionId="s",
                userId="u",
                timestamp=WHEN,
            ),
            call(
                id="a2",
                provider="acme",
                model="acme-large",
                sessionId="s",
                promptTokens=1000,
                completionTokens=500,
                userId="u",
                timestamp=WHEN,
            ),
            call(id="g1", model="gpt-4o", sessionId="s", userId="u", timestamp=WHEN),
            call(
                id="r1",
                provider="acme",
                model="acme-large",
                costUsd=9.0,
                sessionId="s",
                userId="u",
                timestamp=WHEN,
            ),
        ],
        key=project.ingest,
    )
    assert payload["storedCount"] == 4


def gpt_4o_cost() -> float:
    usage = Usage(input_tokens=100, output_tokens=20)
    return float(
        calc_price(
            usage,
            model_ref="gpt-4o",
            provider_id="openai",
            genai_request_timestamp=datetime(2026, 11, 1, tzinfo=UTC),
        ).total_price
    )


async def test_a_dry_run_reports_per_model_and_writes_nothing(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_for_reprice(client, project)
    before = await costs(client, project.reader)
    await set_price(client, project.admin, modelPattern="acme-*")
    await set_price(client, project.admin, modelPattern="gpt-4o", inputPerMtok=10.0)

    result = await gql(client, REPRICE, {"dryRun": True}, key=project.admin)

    assert result.errors == []
    assert result.data is not None
    report = result.data["repriceLogs"]
    acme_new = (100 * 2 + 20 * 8 + 1000 * 2 + 500 * 8) / 1_000_000
    gpt_new = (100 * 10 + 20 * 8) / 1_000_000
    assert report["dryRun"] is True
    assert (report["examinedCount"], report["changedCount"]) == (3, 3)
    assert report["costDeltaUsd"] == pytest.approx(acme_new + gpt_new - gpt_4o_cost())
    by_model = {row["model"]: row for row in report["models"]}
    assert by_model["acme-large"] == {
        "provider": "acme",
        "model": "acme-large",
        "callCount": 2,
        "oldCostUsd": 0.0,
        "newCostUsd": pytest.approx(acme_new),
        "costDeltaUsd": pytest.approx(acme_new),
        "newlyPricedCount": 2,
        "newlyUnpricedCount": 0,
    }
    assert by_model["gpt-4o"]["callCount"] == 1
    assert by_model["gpt-4o"]["oldCostUsd"] == pytest.approx(gpt_4o_cost())
    assert await costs(client, project.reader) == before


async def test_a_real_run_updates_calls_and_keeps_session_totals_true(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_for_reprice(client, project)
    await set_price(client, project.admin, modelPattern="acme-*")

    result = await gql(client, REPRICE, {"dryRun": False}, key=project.admin)

    assert result.data is not None
    assert result.data["repriceLogs"]["changedCount"] == 2
    by_id, session = await costs(client, project.reader)
    assert by_id["a1"]["costSource"] == "CUSTOM"
    assert by_id["a1"]["costUsd"] == pytest.approx((100 * 2 + 20 * 8) / 1_000_000)
    assert by_id["a1"]["priceVersion"] == "custom:acme-*@2026-01-01"
    assert by_id["r1"]["costSource"] == "REPORTED"
    assert by_id["r1"]["costUsd"] == 9.0
    assert by_id["g1"]["costSource"] == "PRICE_TABLE"
    assert session["costUsd"] == pytest.approx(
        sum(item["costUsd"] for item in by_id.values())
    )
    unpriced = await gql(
        client, UNPRICED, {"filter": {"start": SINCE}}, key=project.reader
    )
    assert unpriced.data == {"unpricedModels": []}

    again = await gql(client, REPRICE, {"dryRun": False}, key=project.admin)
    assert again.data is not None
    assert again.data["repriceLogs"]["changedCount"] == 0


async def test_deleting_a_price_and_repricing_makes_calls_unpriced_again(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await seed_for_reprice(client, project)
    await set_price(client, project.admin, modelPattern="acme-*")
    await gql(client, REPRICE, {"dryRun": False}, key=project.admin)
    await gql(
        client,
        DELETE_PRICE,
        {"key": {"modelPattern": "acme-*", "effectiveFrom": SINCE}},
        key=project.admin,
    )

    result = await gql(
        client,
        REPRICE,
        {"dryRun": False, "filter": {"models": ["acme-large"]}},
        key=project.admin,
    )

    assert result.data is not None
    models = result.data["repriceLogs"]["models"]
    assert [(row["model"], row["newlyUnpricedCount"]) for row in models] == [
        ("acme-large", 2)
    ]
    by_id, session = await costs(client, project.reader)
    assert by_id["a1"] == {
        "id": "a1",
        "costUsd": None,
        "costSource": "UNPRICED",
        "priceVersion": None,
    }
    assert session["costUsd"] == pytest.approx(9.0 + gpt_4o_cost())


async def test_a_second_run_while_one_holds_the_project_is_a_conflict(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await Project.get_pymongo_collection().update_one(
        {"_id": project.id},
        {"$set": {"reprice_lease_until": datetime.now(UTC) + timedelta(minutes=5)}},
    )

    blocked = await gql(client, REPRICE, {"dryRun": False}, key=project.admin)
    dry = await gql(client, REPRICE, {"dryRun": True}, key=project.admin)

    assert blocked.error_codes() == ["CONFLICT"]
    assert "another reprice" in blocked.errors[0]["message"]
    assert dry.errors == []
