"""A dataset with known answers, and a plain reference computation of every measure.

The calls are recorded through the real ingest path (`logCall`), so roll-ups are
built exactly as in production. Costs and latencies are binary fractions, so a
sum is the same whatever order it is added in, and roll-ups must equal raw
calls exactly, not approximately.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Europe/Paris moves its clocks forward at 2025-03-30T01:00Z: that local day
# lasts 23 hours, from 2025-03-29T23:00Z to 2025-03-30T22:00Z.
RANGE_START = datetime(2025, 3, 28, tzinfo=UTC)
RANGE_END = datetime(2025, 4, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Call:
    id: str
    at: str
    model: str = "gpt-4o"
    provider: str = "openai"
    environment: str = "production"
    user: str | None = None
    session: str | None = None
    status_code: int | None = 200
    error_type: str | None = None
    prompt: int | None = None
    completion: int | None = None
    cached: int | None = None
    reasoning: int | None = None
    cost: float | None = None
    duration: float | None = None
    ttft: float | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(self.at.replace("Z", "+00:00"))

    @property
    def is_error(self) -> bool:
        return self.error_type is not None or (self.status_code or 0) >= 400

    def mutation_input(self) -> dict[str, Any]:
        call: dict[str, Any] = {
            "id": self.id,
            "timestamp": self.at,
            "provider": self.provider,
            "model": self.model,
            "environment": self.environment,
            "userId": self.user,
            "sessionId": self.session,
            "statusCode": self.status_code,
            "errorType": self.error_type,
            "promptTokens": self.prompt,
            "completionTokens": self.completion,
            "cachedPromptTokens": self.cached,
            "reasoningTokens": self.reasoning,
            "costUsd": self.cost,
            "durationMs": self.duration,
            "timeToFirstTokenMs": self.ttft,
            "tags": list(self.tags),
            "metadata": self.metadata,
        }
        return {key: value for key, value in call.items() if value is not None}


CALLS = (
    # 2025-03-28: two models, one partial hour at 09:15.
    Call("c01", "2025-03-28T09:15:00Z", user="ann", session="s1", prompt=100,
         completion=20, cached=40, cost=0.25, duration=1000.0, ttft=150.0,
         tags=("beta",), metadata={"team": "search"}),
    Call("c02", "2025-03-28T09:45:00Z", user="ann", session="s1", prompt=50,
         completion=30, reasoning=10, cost=0.5, duration=2000.0, ttft=300.0,
         tags=("beta", "eu"), metadata={"team": "search", "tier": 2}),
    Call("c03", "2025-03-28T10:05:00Z", model="claude-sonnet-4",
         provider="anthropic", user="bob", prompt=10, completion=10, cost=0.125,
         duration=400.0, metadata={"team": "ads"}),
    Call("c04", "2025-03-28T23:59:59Z", status_code=429,
         error_type="RateLimitError", user="bob", duration=80.0),
    # 2025-03-29: staging, an unpriced model, an error without latency.
    Call("c05", "2025-03-29T08:00:00Z", environment="staging", user="cy",
         prompt=200, completion=100, cost=1.5, duration=3000.0, ttft=500.0,
         tags=("eu",)),
    Call("c06", "2025-03-29T12:30:00Z", model="acme-1", provider="acme",
         user="cy", session="s2", prompt=5, completion=5, duration=250.5),
    Call("c07", "2025-03-29T12:31:00Z", model="acme-1", provider="acme",
         session="s2", status_code=500, error_type="InternalServerError"),
    # Paris's short day: 00:30 and 23:30 local on 2025-03-30.
    Call("c08", "2025-03-29T23:30:00Z", model="claude-sonnet-4",
         provider="anthropic", user="ann", prompt=30, completion=10, cost=0.25,
         duration=600.0, metadata={"team": "ads"}),
    Call("c09", "2025-03-30T21:30:00Z", status_code=None, error_type="Timeout",
         user="ann", session="s3"),
    Call("c10", "2025-03-30T21:31:00Z", user="dee", session="s3", prompt=40,
         completion=40, cost=0.75, duration=1500.0, ttft=250.0),
    # 2025-03-31 has no calls at all.
    Call("c11", "2025-04-01T10:40:00Z", status_code=429,
         error_type="RateLimitError", user="dee", duration=120.0),
    Call("c12", "2025-04-01T10:50:00Z", model="gpt-4o-mini", prompt=1000,
         completion=200, cost=0.0625, duration=700.0, ttft=100.0, tags=("beta",)),
)  # fmt: skip


def select(calls: Iterable[Call], **narrowing: Any) -> list[Call]:
    """The calls a filter with these (snake_case, service-side) fields selects."""
    start = narrowing.pop("start", RANGE_START)
    end = narrowing.pop("end", RANGE_END)
    checks: dict[str, Callable[[Call, Any], bool]] = {
        "models": lambda call, values: call.model in values,
        "providers": lambda call, values: call.provider in values,
        "environments": lambda call, values: call.environment in values,
        "statuses": lambda call, values: (
            ("error" if call.is_error else "success") in values
        ),
        "status_codes": lambda call, values: call.status_code in values,
        "error_types": lambda call, values: call.error_type in values,
        "users": lambda call, values: call.user in values,
        "sessions": lambda call, values: call.session in values,
        "tags": lambda call, values: set(values) <= set(call.tags),
        "cost_sources": lambda call, values: (
            ("reported" if call.cost is not None else "unpriced") in values
        ),
        "metadata": lambda call, pairs: all(
            call.metadata.get(key) in [v for k, v in pairs if k == key]
            for key in {key for key, _ in pairs}
        ),
    }
    chosen = [call for call in calls if start <= call.timestamp < end]
    for name, values in narrowing.items():
        chosen = [call for call in chosen if checks[name](call, values)]
    return chosen


def exact_percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(q * len(ordered) / 100, 9)))
    return ordered[rank - 1]


PERCENTILES = (
    ("latencyP50Ms", 50, "duration"),
    ("latencyP90Ms", 90, "duration"),
    ("latencyP95Ms", 95, "duration"),
    ("latencyP99Ms", 99, "duration"),
    ("ttftP50Ms", 50, "ttft"),
    ("ttftP95Ms", 95, "ttft"),
)


def measures(calls: list[Call]) -> dict[str, Any]:
    """Every exact measure of `calls`, named as in the GraphQL `UsageMeasures`."""
    count = len(calls)
    errors = sum(call.is_error for call in calls)
    priced = [call.cost for call in calls if call.cost is not None]
    durations = [call.duration for call in calls if call.duration is not None]
    prompt = sum(call.prompt or 0 for call in calls)
    completion = sum(call.completion or 0 for call in calls)
    return {
        "calls": count,
        "successes": count - errors,
        "errors": errors,
        "errorRate": errors / count if count else None,
        "promptTokens": prompt,
        "completionTokens": completion,
        "totalTokens": prompt + completion,
        "cachedPromptTokens": sum(call.cached or 0 for call in calls),
        "cacheWriteTokens": 0,
        "reasoningTokens": sum(call.reasoning or 0 for call in calls),
        "costUsd": sum(priced) if priced else None,
        "avgCostUsd": sum(priced) / len(priced) if priced else None,
        "pricedCalls": len(priced),
        "unpricedCalls": count - len(priced),
        "latencyAvgMs": sum(durations) / len(durations) if durations else None,
        "latencyMaxMs": max(durations) if durations else None,
    }


def percentiles(calls: list[Call]) -> dict[str, float | None]:
    """The exact nearest-rank percentiles of `calls`, by GraphQL field name."""
    found: dict[str, float | None] = {}
    for name, q, attribute in PERCENTILES:
        values = [
            getattr(call, attribute)
            for call in calls
            if getattr(call, attribute) is not None
        ]
        found[name] = exact_percentile(values, q)
    return found


MEASURE_FIELDS = " ".join([*measures([]).keys(), *(name for name, _, _ in PERCENTILES)])


def assert_measures(actual: dict[str, Any], calls: list[Call]) -> None:
    """Exact sums and counts; percentiles within 1% of the exact value."""
    expected = measures(calls)
    assert {name: actual[name] for name in expected} == expected
    for name, exact in percentiles(calls).items():
        if exact is None:
            assert actual[name] is None, name
        else:
            assert actual[name] is not None, name
            assert abs(actual[name] - exact) <= 0.01 * exact, (
                name,
                actual[name],
                exact,
            )
