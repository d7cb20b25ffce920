"""Output types of the live feeds: session changes and usage ticks."""

from datetime import datetime
from enum import Enum

import strawberry

from app.schema.types.session import Session
from app.services.usage_tally import UsageSnapshot


@strawberry.enum(description="What happened to a session.")
class SessionChange(Enum):
    CREATED = strawberry.enum_value(
        "created", description="Its first call or message arrived, or it was started."
    )
    TOTALS_CHANGED = strawberry.enum_value(
        "totals_changed", description="A call added to its totals."
    )
    MESSAGE_ADDED = strawberry.enum_value(
        "message_added", description="A message was added."
    )
    COMPLETED = strawberry.enum_value("completed", description="It was completed.")
    ABANDONED = strawberry.enum_value(
        "abandoned", description="It passed the project's inactivity timeout."
    )
    DELETED = strawberry.enum_value(
        "deleted", description="It was deleted; `session` is its last state."
    )


@strawberry.type(description="One change to a session, with its state after it.")
class SessionUpdate:
    change: SessionChange
    session: Session


@strawberry.type(
    description=(
        "Live totals of the calls that started in the last windowMinutes and match "
        "the filter. The window moves in steps of windowMinutes/4 seconds, rounded "
        "up, so windowStart may be up to one step earlier than "
        "windowEnd minus windowMinutes. Latency percentiles come from a histogram "
        "and are within 1% of the exact values."
    )
)
class UsageTick:
    window_start: datetime
    window_end: datetime
    window_minutes: int
    call_count: int
    error_count: int
    error_rate: float = strawberry.field(
        description="errorCount / callCount; 0 when no calls."
    )
    cost_usd: float = strawberry.field(description="USD, sum of priced calls only.")
    unpriced_call_count: int = strawberry.field(
        description="Calls with no known price: not in costUsd."
    )
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_p50_ms: float | None = strawberry.field(
        description="Median duration; null when no call reported one."
    )
    latency_p95_ms: float | None
    complete: bool = strawberry.field(
        description=(
            "False when the server could not hold every call of the window in "
            "memory (a very busy project), so the totals undercount its start."
        )
    )

    @classmethod
    def from_snapshot(cls, snapshot: UsageSnapshot, window_minutes: int) -> "UsageTick":
        return cls(
            window_start=snapshot.window_start,
            window_end=snapshot.window_end,
            window_minutes=window_minutes,
            call_count=snapshot.calls,
            error_count=snapshot.errors,
            error_rate=snapshot.errors / snapshot.calls if snapshot.calls else 0.0,
            cost_usd=round(snapshot.cost_usd, 9),
            unpriced_call_count=snapshot.unpriced_calls,
            prompt_tokens=snapshot.prompt_tokens,
            completion_tokens=snapshot.completion_tokens,
            total_tokens=snapshot.total_tokens,
            latency_p50_ms=_rounded(snapshot.latency_p50_ms),
            latency_p95_ms=_rounded(snapshot.latency_p95_ms),
            complete=snapshot.complete,
        )


def _rounded(value_ms: float | None) -> float | None:
    return round(value_ms, 3) if value_ms is not None else None
