"""The per-process cache of a project's ingest rules, and when it is dropped."""

from datetime import UTC, datetime

from app.documents import Project
from app.services.calls import forget_ingest_rules, ingest_rules
from app.services.prices import custom_price, set_custom_price
from app.settings import Settings
from tests.factories import TestProject


async def turn_text_off(project: TestProject) -> None:
    await Project.get_pymongo_collection().update_one(
        {"_id": project.id}, {"$set": {"settings.store_text": False}}
    )


async def test_rules_are_reused_until_forgotten(
    project: TestProject, settings: Settings
) -> None:
    cached = settings.model_copy(update={"project_cache_ttl_s": 60.0})
    first = await ingest_rules(project.id, cached)
    await turn_text_off(project)

    reused = await ingest_rules(project.id, cached)
    fresh = await ingest_rules(project.id, cached, fresh=True)
    forget_ingest_rules(project.id)
    reloaded = await ingest_rules(project.id, cached)

    assert first.limits.store_text
    assert reused is first
    assert not fresh.limits.store_text
    assert not reloaded.limits.store_text


async def test_a_new_custom_price_reaches_the_cached_rules_at_once(
    project: TestProject, settings: Settings
) -> None:
    cached = settings.model_copy(update={"project_cache_ttl_s": 60.0})
    before = await ingest_rules(project.id, cached)

    await set_custom_price(
        project.id,
        custom_price(
            model_pattern="acme-*",
            effective_from=datetime(2026, 1, 1, tzinfo=UTC),
            input_per_mtok=1.0,
            output_per_mtok=1.0,
        ),
    )
    after = await ingest_rules(project.id, cached)

    assert before.custom_prices == ()
    assert [price.model_pattern for price in after.custom_prices] == ["acme-*"]


async def test_without_a_ttl_every_call_reads_the_project(
    project: TestProject, settings: Settings
) -> None:
    assert settings.project_cache_ttl_s == 0
    await ingest_rules(project.id, settings)
    await turn_text_off(project)

    assert not (await ingest_rules(project.id, settings)).limits.store_text
