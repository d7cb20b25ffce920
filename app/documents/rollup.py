"""Usage totals per project, UTC hour or day, and low-cardinality dimension set."""

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field

from app.documents.log import Status


class _Rollup(Document):
    """Fields shared by the hourly and the daily roll-ups.

    The `_id` is built from the project, the period and the six dimensions
    (`app.pipelines.rollup.rollup_key`), so each ingested batch upserts its
    totals by primary key, and no secondary unique index is needed. Counters
    only ever change by `$inc`, and a counter that no call has raised yet is
    not stored at all: read a missing one as zero.

    `latency_hist` and `ttft_hist` map a bucket index of
    `app.pipelines.histogram` (as a string) to a count of calls; summed over
    any set of roll-ups they give percentiles within 1%, kept between
    `duration_min` and `duration_max` (so equal latencies read back exactly).
    `duration_max` is only raised and `duration_min` only lowered: after calls
    are deleted they are bounds. `latest_error` is `"<timestamp>|<call id>"` of the newest error
    counted (ISO 8601 UTC with milliseconds, so that `$max` on the string picks
    the newest); like the maximum it is not lowered by deletes.
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    project_id: str
    provider: str
    model: str
    environment: str
    status: Status
    status_code: int | None = None
    error_type: str | None = None
    call_count: int = 0
    error_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    # Sum over priced calls only; unpriced calls are counted, never costed as 0.
    cost_usd: float = 0.0
    priced_count: int = 0
    unpriced_count: int = 0
    duration_ms_sum: float = 0.0
    duration_count: int = 0
    duration_max: float | None = None
    duration_min: float | None = None
    latency_hist: dict[str, int] = Field(default_factory=dict)
    ttft_hist: dict[str, int] = Field(default_factory=dict)
    ttft_count: int = 0
    latest_error: str | None = None


class UsageRollup(_Rollup):
    """Totals of one project, UTC hour and dimension set, in `usage_rollups_hourly`."""

    hour: datetime

    class Settings:
        name = "usage_rollups_hourly"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel([("project_id", 1), ("hour", 1)], name="project_hour"),
        ]


# TODO: a 30-day dashboard reads about 1,300 daily roll-ups, some 70k values,
# three quarters of them per-combination latency buckets; MongoDB reads them in
# milliseconds, the embedded store takes about 300 ms (its per-value decoding,
# not SQLite). Acceptable while the embedded store serves trials and
# development; a per-day document holding one histogram for all of the day's
# calls, next to per-combination counters, would cut the values read about 3x.
class DailyUsageRollup(_Rollup):
    """Totals of one project, UTC day and dimension set, in `usage_rollups_daily`.

    The same counts as the hourly roll-ups of that day, summed; they serve
    whole UTC days of long ranges, reading 24 times fewer documents.
    """

    day: datetime

    class Settings:
        name = "usage_rollups_daily"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel([("project_id", 1), ("day", 1)], name="project_day"),
        ]


class RollupVersions(Document):
    """How often each UTC day's roll-ups of a project have changed.

    Every write to a project's roll-ups adds one to the days it touched, after
    the roll-ups are written. A process that keeps roll-ups it read in memory
    (`app.services.rollup_cache`) reuses them only while their day's count is
    the one it read them under, so processes sharing a database never serve
    each other's stale totals.
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    project_id: str
    # "YYYY-MM-DD" (UTC) -> changes so far; a day never written is absent.
    days: dict[str, int] = Field(default_factory=dict)

    class Settings:
        name = "usage_rollup_versions"
        use_state_management = False
        validate_on_save = False
