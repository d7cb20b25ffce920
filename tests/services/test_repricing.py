"""Repricing against the real store: chunks, roll-ups, unapplied totals, limits."""

from datetime import UTC, datetime

import pytest

from app.documents import (
    DailyUsageRollup,
    Log,
    Project,
    Session,
    UsageRollup,
    session_key,
)
from app.documents.price import CustomPrice
from app.errors import InvalidInput, Unavailable
from app.pipelines.usage import UsageFilter
from app.pubsub import InMemoryBroker
from app.services import repricing
from app.services.call_batch import record_calls
from app.services.call_input import CallIn
from app.services.calls import LogFilter
from app.services.prices import custom_price, list_custom_prices, set_custom_price
from app.services.usage import UsageReader, summarize_usage
from app.settings import Settings
from tests.factories import TestProject, reopen_batches

WHEN = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
ACME_PRICE = custom_price(
    model_pattern="acme-*",
    effective_from=datetime(2026, 1, 1, tzinfo=UTC),
    input_per_mtok=1.0,
    output_per_mtok=2.0,
)


def acme_call(call_id: str, **overrides: object) -> CallIn:
    fields: dict[str, object] = {
        "id": call_id,
        "provider": "acme",
        "model": "acme-large",
        "timestamp": WHEN,
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "session_id": "s",
    }
    return CallIn.model_validate(fields | overrides)


async def store(project: TestProject, settings: Settings, calls: list[CallIn]) -> None:
    batch = await record_calls(
        project.id, calls, settings=settings, broker=InMemoryBroker(10)
    )
    assert batch.count("stored") == len(calls)


async def session_cost(project: TestProject) -> float:
    session = await Session.get(session_key(project.id, "s"))
    assert session is not None
    return session.cost_usd


ACME_COST = (1000 * 1.0 + 500 * 2.0) / 1_000_000


async def test_a_run_larger_than_a_chunk_reprices_every_call(
    project: TestProject, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(project, settings, [acme_call(f"c{index}") for index in range(5)])
    await set_custom_price(project.id, ACME_PRICE)
    monkeypatch.setattr(repricing, "CHUNK_SIZE", 2)

    report = await repricing.reprice_logs(
        project.id, LogFilter(), dry_run=False, settings=settings
    )

    assert (report.examined_count, report.changed_count) == (5, 5)
    assert report.cost_delta_usd == pytest.approx(5 * ACME_COST)
    assert (
        await Log.find({"project_id": project.id, "cost_source": "custom"}).count() == 5
    )
    assert await session_cost(project) == pytest.approx(5 * ACME_COST)


async def test_roll_ups_counting_the_calls_move_with_the_new_costs(
    project: TestProject, settings: Settings
) -> None:
    # Ingest wrote the hourly and daily roll-ups of these calls, unpriced.
    await store(project, settings, [acme_call("r1"), acme_call("r2")])
    await set_custom_price(project.id, ACME_PRICE)

    await repricing.reprice_logs(
        project.id, LogFilter(), dry_run=False, settings=settings
    )

    for document in (UsageRollup, DailyUsageRollup):
        (rollup,) = await document.find({"project_id": project.id}).to_list()
        assert rollup.call_count == 2
        assert rollup.cost_usd == pytest.approx(2 * ACME_COST)
        assert (rollup.priced_count, rollup.unpriced_count) == (2, 0)
    day = UsageFilter(
        project_id=project.id,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=WHEN.replace(day=2, hour=0, minute=0),
    )
    from_rollups = await summarize_usage(UsageReader(), day)
    from_raw = await summarize_usage(UsageReader(force_raw=True), day)
    assert from_rollups.cost_usd == pytest.approx(from_raw.cost_usd)
    assert from_rollups.model_dump(exclude={"cost_usd", "avg_cost_usd"}) == (
        from_raw.model_dump(exclude={"cost_usd", "avg_cost_usd"})
    )


async def test_a_call_whose_totals_are_pending_is_repriced_without_touching_totals(
    project: TestProject, settings: Settings
) -> None:
    await store(project, settings, [acme_call("applied")])
    await store(project, settings, [acme_call("pending")])
    await reopen_batches(project, ["pending"])
    await Session.get_pymongo_collection().update_one(
        {"_id": session_key(project.id, "s")}, {"$inc": {"call_count": -1}}
    )
    await set_custom_price(project.id, ACME_PRICE)

    report = await repricing.reprice_logs(
        project.id, LogFilter(), dry_run=False, settings=settings
    )

    assert report.changed_count == 2
    # Only the applied call's delta reached the session; the pending one adds
    # its (new) cost when its totals are applied by a retry.
    assert await session_cost(project) == pytest.approx(ACME_COST)
    await store_retry(project, settings)
    assert await session_cost(project) == pytest.approx(2 * ACME_COST)


async def store_retry(project: TestProject, settings: Settings) -> None:
    batch = await record_calls(
        project.id, [acme_call("pending")], settings=settings, broker=InMemoryBroker(10)
    )
    assert [item.outcome for item in batch.items] == ["duplicate"]


async def test_a_run_over_the_limit_is_refused_before_any_write(
    project: TestProject, settings: Settings
) -> None:
    await store(project, settings, [acme_call("x1"), acme_call("x2")])
    await set_custom_price(project.id, ACME_PRICE)
    small = settings.model_copy(update={"max_reprice_calls": 1})

    with pytest.raises(
        InvalidInput, match="2 calls match; one reprice handles at most 1"
    ):
        await repricing.reprice_logs(
            project.id, LogFilter(), dry_run=False, settings=small
        )

    assert (
        await Log.find({"project_id": project.id, "cost_source": "custom"}).count() == 0
    )


async def test_a_failed_run_releases_the_project_for_the_next_one(
    project: TestProject, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(project, settings, [acme_call("f1")])
    await set_custom_price(project.id, ACME_PRICE)

    async def fail(changes: object) -> None:
        raise Unavailable("the store did not answer")

    monkeypatch.setattr(repricing, "_write", fail)
    with pytest.raises(Unavailable):
        await repricing.reprice_logs(
            project.id, LogFilter(), dry_run=False, settings=settings
        )
    monkeypatch.undo()

    report = await repricing.reprice_logs(
        project.id, LogFilter(), dry_run=False, settings=settings
    )
    assert report.changed_count == 1
    project_document = await Project.get(project.id)
    assert project_document is not None
    assert project_document.reprice_lease_until is None


async def test_a_pattern_that_looks_like_a_field_path_is_stored_as_text(
    project: TestProject,
) -> None:
    odd = CustomPrice(
        model_pattern="$model*",
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        input_per_mtok=1.0,
        output_per_mtok=1.0,
    )

    await set_custom_price(project.id, odd)
    await set_custom_price(project.id, odd)

    assert [price.model_pattern for price in await list_custom_prices(project.id)] == [
        "$model*"
    ]
