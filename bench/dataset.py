"""Generated LLM calls with a realistic shape, for the benchmarks.

Deterministic for a seed: a daily rhythm of traffic, a handful of models with
skewed shares, two environments, a few percent of errors of four kinds, some
unpriced calls, users and sessions with long tails, streaming calls with a time
to first token, tags and a metadata key.
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# (provider, model, share, USD per 1k prompt tokens, per 1k completion tokens,
# median latency ms); a None price marks a model nobody has priced.
MODELS = (
    ("openai", "gpt-4o-mini", 0.38, 0.00015, 0.0006, 700.0),
    ("openai", "gpt-4o", 0.2, 0.0025, 0.01, 1400.0),
    ("anthropic", "claude-sonnet-4", 0.2, 0.003, 0.015, 1800.0),
    ("anthropic", "claude-haiku-3.5", 0.1, 0.0008, 0.004, 600.0),
    ("google", "gemini-2.5-flash", 0.09, 0.0003, 0.0025, 500.0),
    ("self-hosted", "llama-3.1-70b", 0.03, None, None, 2500.0),
)
# (status code, error type, share of all calls)
ERRORS = (
    (429, "RateLimitError", 0.02),
    (500, "InternalServerError", 0.008),
    (503, "ServiceUnavailableError", 0.005),
    (408, "TimeoutError", 0.004),
)
FEATURES = ("chat", "search", "summarize", "classify")


@dataclass(frozen=True)
class DatasetShape:
    calls: int
    days: int
    end: datetime
    project_id: str = "bench"
    users: int = 2000
    seed: int = 7


def hourly_weights(hours: int, end: datetime) -> list[float]:
    """Traffic per hour: a daily rhythm peaking mid-afternoon UTC, weekends lower."""
    start = end - timedelta(hours=hours)
    weights = []
    for offset in range(hours):
        moment = start + timedelta(hours=offset)
        rhythm = 1.0 + 0.8 * math.sin((moment.hour - 9) / 24 * 2 * math.pi)
        weekend = 0.6 if moment.weekday() >= 5 else 1.0
        weights.append(rhythm * weekend)
    return weights


def generate(shape: DatasetShape) -> Iterator[dict[str, Any]]:
    """`shape.calls` stored-call documents (as `Log.model_dump(by_alias=True)`)."""
    rng = random.Random(shape.seed)
    hours = shape.days * 24
    start = shape.end - timedelta(hours=hours)
    weights = hourly_weights(hours, shape.end)
    total_weight = sum(weights)
    model_weights = [model[2] for model in MODELS]
    error_share = sum(error[2] for error in ERRORS)

    # Largest remainders, so the hours add up to exactly `shape.calls`.
    shares = [shape.calls * weight / total_weight for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(
        range(hours), key=lambda hour: shares[hour] - counts[hour], reverse=True
    )
    for hour in by_remainder[: shape.calls - sum(counts)]:
        counts[hour] += 1

    emitted = 0
    for offset, count in enumerate(counts):
        hour_start = start + timedelta(hours=offset)
        for _ in range(count):
            yield _call(rng, shape, hour_start, model_weights, error_share, emitted)
            emitted += 1


def _call(
    rng: random.Random,
    shape: DatasetShape,
    hour_start: datetime,
    model_weights: list[float],
    error_share: float,
    serial: int,
) -> dict[str, Any]:
    timestamp = hour_start + timedelta(milliseconds=rng.randrange(3_600_000))
    provider, model, _, prompt_price, completion_price, median_ms = rng.choices(
        MODELS, weights=model_weights
    )[0]
    environment = "production" if rng.random() < 0.85 else "staging"
    user = f"user-{int(rng.paretovariate(1.2)) % shape.users}"
    session = (
        f"session-{rng.randrange(shape.calls // 5 + 1)}" if rng.random() < 0.6 else None
    )
    streaming = rng.random() < 0.5

    status, status_code, error = "success", 200, None
    roll = rng.random()
    if roll < error_share:
        for code, error_type, share in ERRORS:
            if roll < share:
                status, status_code = "error", code
                error = {"type": error_type, "message": f"{error_type} from {provider}"}
                break
            roll -= share

    prompt_tokens = completion_tokens = total_tokens = None
    cost = None
    duration = None
    ttft = None
    if status == "success":
        prompt_tokens = int(rng.lognormvariate(6.5, 0.8))
        completion_tokens = int(rng.lognormvariate(5.0, 0.9))
        total_tokens = prompt_tokens + completion_tokens
        if prompt_price is not None and completion_price is not None:
            cost = (
                prompt_tokens * prompt_price + completion_tokens * completion_price
            ) / 1000
        duration = round(rng.lognormvariate(math.log(median_ms), 0.5), 1)
        if streaming:
            ttft = round(duration * rng.uniform(0.1, 0.4), 1)
    elif status_code != 408:
        # Provider errors answer quickly; timeouts report no latency at all.
        duration = round(rng.lognormvariate(math.log(120.0), 0.6), 1)

    call_id = f"call-{serial:08d}"
    return {
        "_id": f"{shape.project_id}:{call_id}",
        "call_id": call_id,
        "project_id": shape.project_id,
        "timestamp": timestamp,
        "received_at": timestamp,
        "environment": environment,
        "provider": provider,
        "model": model,
        "operation": "chat",
        "user_id": user,
        "session_id": session,
        "tags": [rng.choice(("beta", "ga"))] if rng.random() < 0.3 else [],
        "metadata": {"feature": rng.choice(FEATURES)},
        "prompt": None,
        "response": None,
        "prompt_truncated": False,
        "response_truncated": False,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total_tokens,
        "cached_prompt_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "duration_ms": duration,
        "time_to_first_token_ms": ttft,
        "streaming": streaming,
        "status": status,
        "status_code": status_code,
        "error": error,
        "cost_usd": cost,
        "cost_source": "price_table" if cost is not None else "unpriced",
        "price_version": None,
        "totals_batch": None,
    }


def default_end() -> datetime:
    """A fixed, hour-aligned end so that every run loads the same calls."""
    return datetime(2025, 3, 31, tzinfo=UTC)
