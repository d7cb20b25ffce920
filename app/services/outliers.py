"""Sessions and users far above the project's norm in a time range.

Two rules, both one-sided (only the expensive or busy side matters):

- MAD: a value is an outlier when it exceeds the median by more than
  `threshold` robust standard deviations, estimated as 1.4826 x the median
  absolute deviation (the modified z-score of Iglewicz and Hoaglin; 3.5 is
  their usual cut). When more than half the values are equal the MAD is 0, and
  1.2533 x the mean absolute deviation from the median is used instead; when
  that is 0 too, every value is the same and nothing stands out.
- PERCENTILE: a value is an outlier when it exceeds the `threshold`-th
  percentile (nearest rank: the smallest value with at least that share of
  the population at or below it).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any, Literal

from app.documents import Session
from app.errors import InvalidInput
from app.services.session_status import session_timeout, with_effective_status
from app.services.store_errors import store_errors
from app.services.users import UserUsage, check_range, user_usage

OutlierMethod = Literal["mad", "percentile"]
SessionMeasure = Literal["cost_usd", "call_count", "call_rate"]
UserMeasure = Literal["cost_usd", "call_count"]

MAX_POPULATION = 200_000
"""Sessions or users a single outlier query may weigh; narrow the range beyond."""

_MAD_SCALE = 1.4826
_MEAN_AD_SCALE = 1.2533


@dataclass(frozen=True, slots=True)
class Cut:
    """Where the norm ends for one population and rule."""

    method: OutlierMethod
    threshold: float
    population: int
    median: float | None
    spread: float | None
    """The robust standard deviation used for scores; None when it is 0."""
    cutoff: float | None
    """Values strictly above this are outliers; None when nothing can be."""

    def score(self, value: float) -> float | None:
        """How many robust standard deviations `value` lies above the median."""
        if self.median is None or not self.spread:
            return None
        return (value - self.median) / self.spread


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The smallest value with at least `percent` % of `values` at or below it."""
    ordered = sorted(values)
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[min(rank, len(ordered)) - 1]


def robust_spread(values: Sequence[float], center: float) -> float | None:
    """1.4826 x MAD, or 1.2533 x mean absolute deviation when the MAD is 0."""
    deviations = [abs(value - center) for value in values]
    mad = median(deviations)
    if mad > 0:
        return _MAD_SCALE * mad
    mean_deviation = sum(deviations) / len(deviations)
    return _MEAN_AD_SCALE * mean_deviation if mean_deviation > 0 else None


def find_cut(values: Sequence[float], method: OutlierMethod, threshold: float) -> Cut:
    """The cut for `values` under `method`; an empty population has none."""
    if method == "mad" and threshold <= 0:
        message = "threshold must be above 0 for MAD (3.5 is the usual choice)"
        raise InvalidInput(message, field="threshold")
    if method == "percentile" and not 0 < threshold < 100:
        message = "threshold must be a percentile between 0 and 100, e.g. 99"
        raise InvalidInput(message, field="threshold")
    if not values:
        return Cut(method, threshold, 0, None, None, None)
    center = float(median(values))
    spread = robust_spread(values, center)
    if method == "percentile":
        cutoff: float | None = float(nearest_rank(values, threshold))
    else:
        cutoff = center + threshold * spread if spread is not None else None
    return Cut(method, threshold, len(values), center, spread, cutoff)


def _check_population(size: int, noun: str) -> None:
    if size > MAX_POPULATION:
        message = (
            f"more than {MAX_POPULATION} {noun} are active in this range; narrow it"
        )
        raise InvalidInput(message, field="range")


@dataclass(frozen=True, slots=True)
class SessionOutlier:
    session: Session
    value: float
    score: float | None


@dataclass(frozen=True, slots=True)
class SessionOutliers:
    cut: Cut
    items: list[SessionOutlier]


_SESSION_FIELDS = {
    "session_id": 1,
    "cost_usd": 1,
    "call_count": 1,
    "started_at": 1,
    "last_activity_at": 1,
}


def session_value(row: dict[str, Any], measure: SessionMeasure) -> float:
    """Cost, calls, or calls per minute between first and last activity (at least 1 min)."""
    if measure == "cost_usd":
        return float(row.get("cost_usd") or 0.0)
    calls = float(row.get("call_count") or 0)
    if measure == "call_count":
        return calls
    wall: timedelta = row["last_activity_at"] - row["started_at"]
    minutes = wall.total_seconds() / 60
    return calls / max(minutes, 1.0)


async def session_outliers(
    project_id: str,
    *,
    start: datetime,
    end: datetime,
    measure: SessionMeasure,
    method: OutlierMethod,
    threshold: float,
    limit: int,
) -> SessionOutliers:
    """Sessions active in `[start, end)` whose `measure` is above the cut, highest first.

    The population is read as a few fields per session; only the outliers are
    read whole.
    """
    check_range(start, end)
    query = {
        "project_id": project_id,
        "started_at": {"$lt": end},
        "last_activity_at": {"$gte": start},
    }
    with store_errors("session_outliers"):
        cursor = Session.get_pymongo_collection().find(
            query, _SESSION_FIELDS, limit=MAX_POPULATION + 1
        )
        population = await cursor.to_list()
    _check_population(len(population), "sessions")
    values = [session_value(row, measure) for row in population]
    cut = find_cut(values, method, threshold)
    if cut.cutoff is None:
        return SessionOutliers(cut=cut, items=[])
    above = sorted(
        (
            (value, str(row["_id"]))
            for value, row in zip(values, population, strict=True)
            if value > cut.cutoff
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )[:limit]
    with store_errors("session_outliers"):
        rows = await Session.find({"_id": {"$in": [key for _, key in above]}}).to_list()
    by_key = {row.id: row for row in rows}
    now = datetime.now(UTC)
    timeout = await session_timeout(project_id)
    return SessionOutliers(
        cut=cut,
        items=[
            SessionOutlier(
                session=with_effective_status(by_key[key], now=now, timeout=timeout),
                value=value,
                score=cut.score(value),
            )
            for value, key in above
            if key in by_key
        ],
    )


@dataclass(frozen=True, slots=True)
class UserOutlier:
    usage: UserUsage
    value: float
    score: float | None


@dataclass(frozen=True, slots=True)
class UserOutliers:
    cut: Cut
    items: list[UserOutlier]


async def user_outliers(
    project_id: str,
    *,
    start: datetime,
    end: datetime,
    measure: UserMeasure,
    method: OutlierMethod,
    threshold: float,
    limit: int,
) -> UserOutliers:
    """Users whose cost or calls in `[start, end)` are above the cut, highest first."""
    population = await user_usage(
        project_id, start=start, end=end, limit=MAX_POPULATION + 1
    )
    _check_population(len(population), "users")
    values = [
        usage.cost_usd if measure == "cost_usd" else float(usage.call_count)
        for usage in population
    ]
    cut = find_cut(values, method, threshold)
    if cut.cutoff is None:
        return UserOutliers(cut=cut, items=[])
    above = sorted(
        (
            (value, usage)
            for value, usage in zip(values, population, strict=True)
            if value > cut.cutoff
        ),
        key=lambda pair: (-pair[0], pair[1].user_id),
    )[:limit]
    return UserOutliers(
        cut=cut,
        items=[
            UserOutlier(usage=usage, value=value, score=cut.score(value))
            for value, usage in above
        ],
    )


def check_limit(limit: int, maximum: int) -> None:
    """Refuse a result size outside 1..`maximum`."""
    if not 1 <= limit <= maximum:
        message = f"limit must be between 1 and {maximum}, got {limit}"
        raise InvalidInput(message, field="limit")
