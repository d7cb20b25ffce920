"""Errors by status code and error type, with shares and the latest example call."""

from dataclasses import dataclass
from datetime import UTC, datetime

from app.pipelines.usage import UsageFilter
from app.pipelines.usage_measures import UsageTotals, total_of
from app.pipelines.usage_rows import Grouping, fold
from app.services.usage import UsageQuery, UsageReader, check_summary_span
from app.services.usage_breakdown import check_limit, rank

_BY_ERROR = Grouping(("status", "status_code", "error_type"))


@dataclass(frozen=True)
class ErrorGroup:
    """Errors sharing a status code and an error type (either may be null).

    `latest_call_id` is the newest error of the group when it was counted; a
    later delete of that call does not replace it.
    """

    status_code: int | None
    error_type: str | None
    errors: int
    share_of_errors: float
    share_of_calls: float
    latest_call_id: str | None
    latest_at: datetime | None
    is_other: bool = False


@dataclass(frozen=True)
class ErrorBreakdown:
    """The top error groups (then "other"), out of `errors` errors in `calls` calls."""

    calls: int
    errors: int
    groups: list[ErrorGroup]


async def break_down_errors(
    reader: UsageReader, usage_filter: UsageFilter, *, limit: int = 10
) -> ErrorBreakdown:
    """The filter's errors grouped by status code and error type, most frequent first.

    Raises:
        InvalidInput: a limit outside 1..`MAX_GROUPS`, or a range longer than
            `MAX_SUMMARY_SPAN`.
    """
    check_limit(limit)
    check_summary_span(usage_filter)
    query = UsageQuery(usage_filter, _BY_ERROR, with_histograms=False)
    rows = await reader.rows(query)

    calls = total_of(row.totals for row in rows).calls
    by_error = fold(
        (row for row in rows if row.group[0] == "error"),
        lambda row: row.group[1:],
    )
    errors = sum(totals.calls for totals in by_error.values())
    top, rest = rank(
        by_error,
        measure=lambda summary: summary.calls,
        limit=limit,
        with_percentiles=False,
    )
    groups = [
        _error_group(grouped.group, by_error[grouped.group], calls=calls, errors=errors)
        for grouped in top
    ]
    if rest is not None:
        groups.append(
            _error_group((None, None), rest, calls=calls, errors=errors, is_other=True)
        )
    return ErrorBreakdown(calls=calls, errors=errors, groups=groups)


def _error_group(
    key: tuple[object, ...],
    totals: UsageTotals,
    *,
    calls: int,
    errors: int,
    is_other: bool = False,
) -> ErrorGroup:
    status_code, error_type = key
    latest_at, latest_call_id = _latest(totals.latest_error)
    return ErrorGroup(
        status_code=status_code if isinstance(status_code, int) else None,
        error_type=str(error_type) if error_type is not None else None,
        errors=totals.calls,
        share_of_errors=totals.calls / errors if errors else 0.0,
        share_of_calls=totals.calls / calls if calls else 0.0,
        latest_call_id=latest_call_id,
        latest_at=latest_at,
        is_other=is_other,
    )


def _latest(marker: str | None) -> tuple[datetime | None, str | None]:
    # "<ISO timestamp with Z>|<call id>", as `rollup.latest_call_marker` writes it.
    if not marker:
        return None, None
    stamp, _, call_id = marker.partition("|")
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    return moment, call_id
