"""Output types of the usage aggregates."""

from datetime import datetime
from typing import Any, Self

import strawberry

from app.pipelines.usage import UsageFilter
from app.pipelines.usage_measures import UsageSummary as Summary
from app.schema.inputs.usage import Granularity, UsageDimension
from app.services.usage import count_distinct


@strawberry.interface(
    description=(
        "Measures of a set of calls. Counts, tokens and costs are exact. "
        "Percentiles are nearest-rank values read from log-spaced latency "
        "buckets, within 1% of the exact value. Null means there is nothing "
        "to measure (no calls, no priced call, no reported latency)."
    )
)
class UsageMeasures:
    calls: int
    successes: int
    errors: int
    error_rate: float | None = strawberry.field(description="errors / calls.")
    prompt_tokens: int = strawberry.field(description="Inclusive input tokens.")
    completion_tokens: int = strawberry.field(description="Inclusive output tokens.")
    total_tokens: int
    cached_prompt_tokens: int = strawberry.field(
        description="Part of promptTokens read from the provider's cache."
    )
    cache_write_tokens: int = strawberry.field(
        description="Part of promptTokens written to the provider's cache."
    )
    reasoning_tokens: int = strawberry.field(
        description="Part of completionTokens spent on reasoning."
    )
    cost_usd: float | None = strawberry.field(
        description="USD over priced calls; null when no call is priced (never a silent 0)."
    )
    avg_cost_usd: float | None = strawberry.field(description="USD per priced call.")
    priced_calls: int
    unpriced_calls: int = strawberry.field(
        description="Calls with no known price; not included in costUsd."
    )
    latency_avg_ms: float | None = strawberry.field(
        description="Mean latency of the calls that reported one."
    )
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    latency_max_ms: float | None = strawberry.field(
        description="Slowest call; an upper bound after calls were deleted or repriced."
    )
    ttft_p50_ms: float | None = strawberry.field(
        description="Median time to first token of the calls that reported one."
    )
    ttft_p95_ms: float | None


def measures(summary: Summary) -> dict[str, Any]:
    """The keyword arguments every `UsageMeasures` type takes, from a service summary."""
    return summary.model_dump()


async def _distinct_users(root: "UsageSummary") -> int:
    return await count_distinct(root.usage_filter, "user_id")


async def _distinct_sessions(root: "UsageSummary") -> int:
    return await count_distinct(root.usage_filter, "session_id")


@strawberry.type(
    description=(
        "Measures of every call the filter selects, and how many users and "
        "sessions made them."
    )
)
class UsageSummary(UsageMeasures):
    usage_filter: strawberry.Private[UsageFilter]
    distinct_users: int = strawberry.field(
        resolver=_distinct_users,
        description="Distinct user ids among the calls. Reads raw calls: slower on long ranges.",
    )
    distinct_sessions: int = strawberry.field(
        resolver=_distinct_sessions,
        description="Distinct session ids among the calls. Reads raw calls: slower on long ranges.",
    )

    @classmethod
    def of(cls, summary: Summary, usage_filter: UsageFilter) -> Self:
        return cls(usage_filter=usage_filter, **measures(summary))


@strawberry.type(description="One dimension's value in a group.")
class UsageGroupValue:
    dimension: UsageDimension
    metadata_key: str | None = strawberry.field(
        description="The metadata key, for the METADATA dimension."
    )
    value: str | None = strawberry.field(
        description=(
            "As text (status codes as decimal digits); null when calls have no "
            'value (no user, no session, no tag), and in the "other" row.'
        )
    )


@strawberry.type(description="Measures of the calls of one group.")
class UsageGroup(UsageMeasures):
    group: list[UsageGroupValue] = strawberry.field(
        description="The group's value for each groupBy dimension, in order."
    )
    is_other: bool = strawberry.field(
        description="This row sums every group beyond the limit."
    )


@strawberry.type(description="Measures of every call a breakdown covers.")
class UsageTotal(UsageMeasures):
    pass


@strawberry.type(
    description=(
        'Usage per group, top groups first, then an "other" row when groups '
        "were left out, so the rows add up to the total."
    )
)
class UsageBreakdown:
    group_by: list[UsageDimension]
    groups: list[UsageGroup]
    total: UsageTotal = strawberry.field(
        description="All calls (with TAG: every call once per tag it carries)."
    )


@strawberry.type(description="Measures of one time bucket; zero when it had no calls.")
class UsagePoint(UsageMeasures):
    start: datetime = strawberry.field(
        description="Bucket start (UTC instant of the local start)."
    )
    end: datetime = strawberry.field(
        description=(
            "Bucket end, exclusive: 23 or 25 hours after start for a day with a "
            "clock change. Only calls inside the filter's range are counted."
        )
    )


@strawberry.type(description="One group's points, one per bucket, in time order.")
class UsageSeries:
    group: list[UsageGroupValue] = strawberry.field(
        description="Empty for the series of all calls."
    )
    is_other: bool = strawberry.field(
        description="This series sums every group beyond the limit."
    )
    points: list[UsagePoint]


@strawberry.type(description="Usage per time bucket in a time zone.")
class UsageTimeSeries:
    granularity: Granularity
    time_zone: str = strawberry.field(description="The IANA zone buckets follow.")
    series: list[UsageSeries] = strawberry.field(
        description=(
            "One series of all calls without groupBy; else the top groups by "
            'calls, then "other".'
        )
    )


@strawberry.type(description="Errors sharing a status code and an error type.")
class ErrorGroup:
    status_code: int | None = strawberry.field(
        description="HTTP status from the provider; null when none was reported."
    )
    error_type: str | None = strawberry.field(
        description="The error class or code; null when none was reported."
    )
    errors: int
    share_of_errors: float = strawberry.field(
        description="This group's errors / all errors, 0 to 1."
    )
    share_of_calls: float = strawberry.field(
        description="This group's errors / all calls, 0 to 1."
    )
    latest_call_id: strawberry.ID | None = strawberry.field(
        description=(
            "The newest error of the group, as an example to open with log(id:). "
            "May name a call deleted since."
        )
    )
    latest_at: datetime | None = strawberry.field(
        description="When that newest error happened."
    )
    is_other: bool = strawberry.field(
        description="This row sums every group beyond the limit."
    )


@strawberry.type(description="The filter's errors by status code and error type.")
class ErrorBreakdown:
    calls: int = strawberry.field(description="Every call the filter selects.")
    errors: int = strawberry.field(description="The errors among them.")
    groups: list[ErrorGroup] = strawberry.field(
        description='Most frequent first, then "other"; they add up to errors.'
    )
