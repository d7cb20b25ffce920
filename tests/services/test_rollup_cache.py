"""Daily roll-ups kept between requests: reused while unchanged, never stale."""

from datetime import timedelta

import httpx

from app.pipelines.usage import UsageFilter
from app.services.rollup_cache import RollupCache
from app.services.usage import UsageReader, summarize_usage
from app.settings import Settings
from tests.factories import TestProject, gql
from tests.services.test_usage import DAY, call, record

TWO_DAYS = timedelta(days=2)
REPRICE = """
mutation Reprice($filter: LogFilterInput!) {
  repriceLogs(filter: $filter, dryRun: false) { changedCount }
}
"""


def two_days(project: TestProject) -> UsageFilter:
    return UsageFilter(project_id=project.id, start=DAY, end=DAY + TWO_DAYS)


async def summary(project: TestProject, cache: RollupCache) -> tuple[int, float, int]:
    """Calls and cost over the two days, and how many roll-ups came from memory."""
    reader = UsageReader(cache=cache)
    found = await summarize_usage(reader, two_days(project))
    return found.calls, found.cost_usd or 0.0, reader.stats.cached_rollup_documents


async def test_a_second_read_of_unchanged_days_comes_from_memory(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5), call("b", 10, model="gpt-4o-mini"))
    cache = RollupCache(1000)

    first = await summary(project, cache)
    second = await summary(project, cache)

    assert first[:2] == second[:2] == (2, 1.0)
    assert first[2] == 0
    assert second[2] == 2  # both daily roll-ups, no store read


async def test_a_call_for_a_day_already_read_is_counted_at_once(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5))
    cache = RollupCache(1000)
    assert (await summary(project, cache))[:2] == (1, 0.5)

    # A late call for the same past day, then one for the next day.
    await record(client, project, call("b", 50), call("c", 60 * 24 + 5))

    assert (await summary(project, cache))[:2] == (3, 1.5)


async def test_another_process_writing_invalidates_what_this_one_kept(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    # Two processes: each has its own memory, the versions live in the store.
    ours, theirs = RollupCache(1000), RollupCache(1000)
    await record(client, project, call("a", 5))
    assert (await summary(project, ours))[:2] == (1, 0.5)
    assert (await summary(project, theirs))[:2] == (1, 0.5)

    await record(client, project, call("b", 6))

    assert (await summary(project, ours))[:2] == (2, 1.0)
    assert (await summary(project, theirs))[:2] == (2, 1.0)


async def test_repricing_a_day_already_read_changes_its_cost_at_once(
    client: httpx.AsyncClient, project: TestProject, settings: Settings
) -> None:
    await record(client, project, call("a", 5, costUsd=None))
    cache = RollupCache(1000)
    calls, priced_cost, _ = await summary(project, cache)
    assert calls == 1
    assert priced_cost > 0
    price = {
        "modelPattern": "gpt-4o",
        "inputPerMtok": 1_000_000.0,
        "outputPerMtok": 0.0,
        "effectiveFrom": "2020-01-01T00:00:00Z",
    }
    set_price = await gql(
        client,
        "mutation P($input: CustomPriceInput!) { setCustomPrice(input: $input) "
        "{ modelPattern } }",
        {"input": price},
        key=project.admin,
    )
    assert set_price.errors == []

    repriced = await gql(client, REPRICE, {"filter": {}}, key=project.admin)

    assert repriced.errors == []
    assert (await summary(project, cache))[:2] == (1, 10.0)  # 10 prompt tokens x $1


async def test_a_full_cache_drops_the_least_recently_used_days() -> None:
    cache = RollupCache(3)
    cache.put(("p", "{}", "2025-05-01"), 1, [{"n": 1}, {"n": 2}])
    cache.put(("p", "{}", "2025-05-02"), 1, [{"n": 3}])
    assert cache.get(("p", "{}", "2025-05-01"), 1) is not None

    cache.put(("p", "{}", "2025-05-03"), 1, [{"n": 4}])

    assert cache.get(("p", "{}", "2025-05-02"), 1) is None
    assert cache.get(("p", "{}", "2025-05-01"), 1) == [{"n": 1}, {"n": 2}]
    assert cache.get(("p", "{}", "2025-05-01"), 2) is None  # another version


async def test_whole_hours_of_a_day_are_kept_and_reread_when_the_day_changes(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    # 09:00-12:00 is three whole hours: hourly roll-ups, no daily ones.
    hours = UsageFilter(
        project_id=project.id,
        start=DAY + timedelta(hours=9),
        end=DAY + timedelta(hours=12),
    )
    await record(client, project, call("a", 5), call("b", 70))
    cache = RollupCache(1000)

    async def hourly() -> tuple[int, int]:
        reader = UsageReader(cache=cache)
        found = await summarize_usage(reader, hours)
        return found.calls, reader.stats.cached_rollup_documents

    assert await hourly() == (2, 0)
    assert await hourly() == (2, 2)
    await record(client, project, call("c", 130))
    assert (await hourly())[0] == 3
