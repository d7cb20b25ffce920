"""Roll-ups kept true by ingest, retries, deletes and repricing; which source answers."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.documents import DailyUsageRollup, Log, UsageRollup, log_key
from app.pipelines.usage import UsageFilter
from app.pipelines.usage_rows import Grouping
from app.services.rollups import adjust_rollups
from app.services.usage import UsageQuery, UsageReader, summarize_usage
from app.services.usage_breakdown import break_down_usage
from tests.factories import TestProject, gql, reopen_batches, uncounted_call_ids

LOG_CALL = "mutation Record($input: LogCallInput!) { logCall(input: $input) { id } }"
DAY = datetime(2025, 5, 6, tzinfo=UTC)


def call(call_id: str, minutes: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": call_id,
        "timestamp": (DAY + timedelta(hours=9, minutes=minutes)).isoformat(),
        "provider": "openai",
        "model": "gpt-4o",
        "promptTokens": 10,
        "completionTokens": 5,
        "costUsd": 0.5,
        "durationMs": 100.0,
    }
    return base | fields


async def record(
    client: httpx.AsyncClient, project: TestProject, *calls: dict[str, Any]
) -> None:
    for one in calls:
        result = await gql(client, LOG_CALL, {"input": one}, key=project.ingest)
        assert result.errors == [], result.errors


def whole_day(project: TestProject) -> UsageFilter:
    return UsageFilter(project_id=project.id, start=DAY, end=DAY + timedelta(days=1))


async def both(usage_filter: UsageFilter) -> tuple[Any, Any]:
    from_rollups = await summarize_usage(UsageReader(), usage_filter)
    from_raw = await summarize_usage(UsageReader(force_raw=True), usage_filter)
    return from_rollups, from_raw


async def stored(project: TestProject, call_id: str) -> Log:
    log = await Log.get(log_key(project.id, call_id))
    assert log is not None
    return log


async def test_ingest_keeps_hourly_and_daily_rollups_equal_to_the_calls(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(
        client,
        project,
        call("a", 5),
        call("b", 70, model="gpt-4o-mini", durationMs=300.0),
        call("c", 75, statusCode=503, errorType="Overloaded", costUsd=None),
    )

    from_rollups, from_raw = await both(whole_day(project))

    assert from_rollups == from_raw
    assert from_rollups.calls == 3
    hourly = await UsageRollup.find({"project_id": project.id}).to_list()
    daily = await DailyUsageRollup.find({"project_id": project.id}).to_list()
    assert sorted(rollup.call_count for rollup in hourly) == [1, 1, 1]
    assert sorted(rollup.call_count for rollup in daily) == [1, 1, 1]
    assert {rollup.day for rollup in daily} == {DAY}
    error = next(rollup for rollup in daily if rollup.status == "error")
    assert error.error_type == "Overloaded"
    assert error.latest_error is not None
    assert error.latest_error.endswith("|c")


async def test_the_reader_answers_whole_days_from_rollups_and_edges_from_calls(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5), call("b", 45))
    # A call stored without its totals applied is in no roll-up: only a raw
    # read can see it, which shows where each answer came from.
    hidden = (await stored(project, "a")).model_copy(
        update={"id": log_key(project.id, "hidden"), "call_id": "hidden"}
    )
    hidden.totals_batch = "hidden-batch"
    await Log.get_pymongo_collection().insert_one(hidden.model_dump(by_alias=True))
    await reopen_batches(project, ["hidden"])

    from_rollups, from_raw = await both(whole_day(project))
    edge = UsageFilter(
        project_id=project.id,
        start=DAY + timedelta(hours=9, minutes=1),
        end=DAY + timedelta(days=1),
    )
    edge_rollups, edge_raw = await both(edge)

    assert (from_rollups.calls, from_raw.calls) == (2, 3)
    # From 09:01 the hour 09:00-10:00 is an edge read from raw calls.
    assert (edge_rollups.calls, edge_raw.calls) == (3, 3)


async def test_a_retried_call_whose_totals_were_not_applied_is_counted_once(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5))
    # As if the first attempt stored "b" and failed before applying its totals.
    unapplied = (await stored(project, "a")).model_copy(
        update={"id": log_key(project.id, "b"), "call_id": "b"}
    )
    unapplied.totals_batch = "failed-batch"
    await Log.get_pymongo_collection().insert_one(unapplied.model_dump(by_alias=True))
    await reopen_batches(project, ["b"])

    await record(client, project, call("b", 5))
    await record(client, project, call("b", 5))

    from_rollups, from_raw = await both(whole_day(project))
    assert from_rollups == from_raw
    assert from_rollups.calls == 2
    assert await uncounted_call_ids(project) == set()


async def test_adjusting_for_a_deleted_call_removes_it_from_the_rollups(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5), call("b", 6, durationMs=900.0))
    deleted = await stored(project, "b")
    await Log.get_pymongo_collection().delete_one({"_id": deleted.id})

    await adjust_rollups([deleted], [])

    from_rollups, from_raw = await both(whole_day(project))
    assert from_rollups.model_dump(exclude={"latency_max_ms"}) == from_raw.model_dump(
        exclude={"latency_max_ms"}
    )
    assert from_rollups.calls == 1
    # A maximum cannot be subtracted: it stays an upper bound.
    assert (from_rollups.latency_max_ms, from_raw.latency_max_ms) == (900.0, 100.0)


async def test_adjusting_for_a_repriced_call_moves_its_cost(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5), call("b", 6, costUsd=None, model="x-1"))
    before = await stored(project, "b")
    after = before.model_copy(update={"cost_usd": 0.25, "cost_source": "custom"})
    await Log.get_pymongo_collection().replace_one(
        {"_id": before.id}, after.model_dump(by_alias=True)
    )

    await adjust_rollups([before], [after])

    from_rollups, from_raw = await both(whole_day(project))
    assert from_rollups == from_raw
    assert from_rollups.cost_usd == 0.75
    assert from_rollups.unpriced_calls == 0


async def test_adjusting_leaves_calls_whose_totals_are_not_applied_alone(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5))
    await reopen_batches(project, ["a"])
    pending = await stored(project, "a")

    await adjust_rollups([pending], [pending])

    from_rollups, _ = await both(whole_day(project))
    assert from_rollups.calls == 1


async def test_one_reader_reads_each_source_once_for_several_aggregates(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5), call("b", 6, model="gpt-4o-mini"))
    reader = UsageReader()
    usage_filter = whole_day(project)

    await summarize_usage(reader, usage_filter)
    breakdown = await break_down_usage(reader, usage_filter, Grouping(("model",)))
    await summarize_usage(reader, usage_filter, with_percentiles=False)

    assert reader.stats.queries == 1
    assert reader.stats.rollup_documents == 2
    assert reader.stats.raw_calls == 0
    assert [grouped.usage.calls for grouped in breakdown.groups] == [1, 1]


async def test_a_forced_raw_reader_counts_the_calls_it_matched(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(client, project, call("a", 5), call("b", 6))
    reader = UsageReader(force_raw=True)

    rows = await reader.rows(UsageQuery(whole_day(project)))

    assert reader.stats.queries == 1
    assert reader.stats.raw_calls == 2
    assert sum(row.totals.calls for row in rows) == 2
    assert reader.stats.rollup_documents == 0


async def test_a_reader_serves_a_range_inside_one_it_read_from_those_documents(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    await record(
        client,
        project,
        call("a", 5),
        call("b", 60 * 24 + 5),
        call("c", 60 * 48 + 5, model="gpt-4o-mini"),
    )
    reader = UsageReader()
    three_days = UsageFilter(
        project_id=project.id, start=DAY, end=DAY + timedelta(days=3)
    )
    last_two = UsageFilter(
        project_id=project.id,
        start=DAY + timedelta(days=1),
        end=DAY + timedelta(days=3),
    )
    narrowed = UsageFilter(
        project_id=project.id,
        start=DAY + timedelta(days=1),
        end=DAY + timedelta(days=3),
        models=("gpt-4o-mini",),
    )

    whole = await summarize_usage(reader, three_days)
    inside = await summarize_usage(reader, last_two)
    assert reader.stats.queries == 1
    other_narrowing = await summarize_usage(reader, narrowed)

    assert (whole.calls, inside.calls, other_narrowing.calls) == (3, 2, 1)
    assert reader.stats.queries == 2
    assert inside == await summarize_usage(UsageReader(force_raw=True), last_two)


async def test_equal_latencies_read_back_exactly_from_rollups_and_raw_calls(
    client: httpx.AsyncClient, project: TestProject
) -> None:
    # A histogram bucket stands for its midpoint (639.1 ms for 640 ms); the
    # smallest and largest latency kept beside it pin such percentiles exactly.
    await record(
        client, project, *(call(f"c{n}", n * 10, durationMs=640.0) for n in range(3))
    )

    for summary in await both(whole_day(project)):
        assert summary.latency_p50_ms == 640.0
        assert summary.latency_p99_ms == 640.0
        assert summary.latency_max_ms == 640.0
