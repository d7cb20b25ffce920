"""Output types of `sessionStats`: distributions and totals over sessions."""

import strawberry

from app.services import session_stats


@strawberry.type(
    description=(
        "One per-session measure across the selected sessions. Percentiles are "
        "nearest-rank: p90 is the smallest value with at least 90% of sessions at "
        "or below it (MongoDB's $percentile, which may approximate on very large "
        "sets). Every field is null when no session matches."
    )
)
class Distribution:
    average: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    @classmethod
    def from_row(cls, row: session_stats.Distribution) -> "Distribution":
        return cls(
            average=row.average, p50=row.p50, p90=row.p90, p99=row.p99, max=row.max
        )


@strawberry.type(
    description="Sums over the selected sessions; call and message totals kept apart."
)
class SessionTotals:
    call_count: int
    error_count: int
    message_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_prompt_tokens: int
    reasoning_tokens: int
    cost_usd: float = strawberry.field(description="USD of the calls.")
    duration_ms: float = strawberry.field(description="Summed latency of the calls.")
    message_prompt_tokens: int
    message_completion_tokens: int
    message_cost_usd: float = strawberry.field(description="USD reported on messages.")
    message_duration_ms: float = strawberry.field(
        description="Duration reported on messages, summed."
    )

    @classmethod
    def from_row(cls, row: session_stats.SessionTotals) -> "SessionTotals":
        return cls(
            call_count=row.call_count,
            error_count=row.error_count,
            message_count=row.message_count,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            total_tokens=row.total_tokens,
            cached_prompt_tokens=row.cached_prompt_tokens,
            reasoning_tokens=row.reasoning_tokens,
            cost_usd=row.cost_usd,
            duration_ms=row.duration_ms,
            message_prompt_tokens=row.message_prompt_tokens,
            message_completion_tokens=row.message_completion_tokens,
            message_cost_usd=row.message_cost_usd,
            message_duration_ms=row.message_duration_ms,
        )


@strawberry.type(
    description=(
        "How the selected sessions are distributed, per session. The origin's "
        "/api/sessions/stats/summary is: totalSessions = count, "
        "avgMessagesPerSession = messages.average, avgCostPerSession = "
        "totals.messageCostUsd / count, avgDurationPerSession = "
        "totals.messageDurationMs / count, totalCost = totals.messageCostUsd, "
        "totalMessages = totals.messageCount."
    )
)
class SessionStats:
    count: int = strawberry.field(description="Sessions matching the filter.")
    messages: Distribution = strawberry.field(description="Messages per session.")
    calls: Distribution = strawberry.field(description="Calls per session.")
    cost_usd: Distribution = strawberry.field(description="Call cost per session, USD.")
    wall_duration_ms: Distribution = strawberry.field(
        description="Last activity minus start, per session, in milliseconds."
    )
    error_rate: Distribution = strawberry.field(
        description="Failed calls / calls, over sessions with at least one call."
    )
    totals: SessionTotals

    @classmethod
    def from_row(cls, row: session_stats.SessionStats) -> "SessionStats":
        return cls(
            count=row.count,
            messages=Distribution.from_row(row.messages),
            calls=Distribution.from_row(row.calls),
            cost_usd=Distribution.from_row(row.cost_usd),
            wall_duration_ms=Distribution.from_row(row.wall_duration_ms),
            error_rate=Distribution.from_row(row.error_rate),
            totals=SessionTotals.from_row(row.totals),
        )
