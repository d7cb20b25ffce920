"""How conversations are distributed: per-session averages, percentiles, totals."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.documents import Session
from app.pipelines.sessions import SESSION_MEASURES, SUMMED_FIELDS, session_stats
from app.services.session_filters import SessionFilter, session_query
from app.services.session_status import session_timeout
from app.services.store_errors import store_errors


@dataclass(frozen=True, slots=True)
class Distribution:
    """One per-session measure across the selected sessions; None when there are none."""

    average: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """Sums over the selected sessions (call and message families kept apart)."""

    call_count: int
    error_count: int
    message_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_prompt_tokens: int
    reasoning_tokens: int
    cost_usd: float
    duration_ms: float
    message_prompt_tokens: int
    message_completion_tokens: int
    message_cost_usd: float
    message_duration_ms: float


@dataclass(frozen=True, slots=True)
class SessionStats:
    count: int
    messages: Distribution
    calls: Distribution
    cost_usd: Distribution
    wall_duration_ms: Distribution
    error_rate: Distribution
    totals: SessionTotals


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _distribution(row: dict[str, Any], name: str) -> Distribution:
    percentiles = row.get(f"{name}_pct") or [None, None, None]
    p50, p90, p99 = (_number(value) for value in percentiles)
    return Distribution(
        average=_number(row.get(f"{name}_avg")),
        p50=p50,
        p90=p90,
        p99=p99,
        max=_number(row.get(f"{name}_max")),
    )


def _totals(row: dict[str, Any]) -> SessionTotals:
    sums = {field: row.get(f"sum_{field}") or 0 for field in SUMMED_FIELDS}
    return SessionTotals(
        call_count=int(sums["call_count"]),
        error_count=int(sums["error_count"]),
        message_count=int(sums["message_count"]),
        prompt_tokens=int(sums["prompt_tokens"]),
        completion_tokens=int(sums["completion_tokens"]),
        total_tokens=int(sums["total_tokens"]),
        cached_prompt_tokens=int(sums["cached_prompt_tokens"]),
        reasoning_tokens=int(sums["reasoning_tokens"]),
        cost_usd=float(sums["cost_usd"]),
        duration_ms=float(sums["duration_ms"]),
        message_prompt_tokens=int(sums["message_prompt_tokens"]),
        message_completion_tokens=int(sums["message_completion_tokens"]),
        message_cost_usd=float(sums["message_cost_usd"]),
        message_duration_ms=float(sums["message_duration_ms"]),
    )


async def session_statistics(
    project_id: str, session_filter: SessionFilter
) -> SessionStats:
    """Count, distributions and totals of the sessions `session_filter` selects."""
    now = datetime.now(UTC)
    timeout = await session_timeout(project_id)
    match = session_query(project_id, session_filter, now=now, timeout=timeout)
    with store_errors("session_statistics"):
        cursor = await Session.get_pymongo_collection().aggregate(session_stats(match))
        rows = await cursor.to_list()
    row: dict[str, Any] = rows[0] if rows else {}
    distributions = {name: _distribution(row, name) for name in SESSION_MEASURES}
    return SessionStats(
        count=int(row.get("count", 0)),
        messages=distributions["messages"],
        calls=distributions["calls"],
        cost_usd=distributions["cost_usd"],
        wall_duration_ms=distributions["wall_duration_ms"],
        error_rate=distributions["error_rate"],
        totals=_totals(row),
    )
