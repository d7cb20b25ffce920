"""Usage per group: the same measures as a summary, top N, and an "other" row."""

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.errors import InvalidInput
from app.pipelines.usage import UsageFilter
from app.pipelines.usage_measures import UsageSummary, UsageTotals, summarize, total_of
from app.pipelines.usage_rows import Grouping, GroupKey, fold
from app.services.usage import UsageQuery, UsageReader, check_summary_span

MAX_GROUPS = 1000


class UsageOrder(enum.Enum):
    """A measure groups can be ranked by; values are `UsageSummary` fields."""

    CALLS = "calls"
    ERRORS = "errors"
    ERROR_RATE = "error_rate"
    COST_USD = "cost_usd"
    AVG_COST_USD = "avg_cost_usd"
    TOTAL_TOKENS = "total_tokens"
    PROMPT_TOKENS = "prompt_tokens"
    COMPLETION_TOKENS = "completion_tokens"
    LATENCY_AVG_MS = "latency_avg_ms"
    LATENCY_P50_MS = "latency_p50_ms"
    LATENCY_P95_MS = "latency_p95_ms"
    LATENCY_P99_MS = "latency_p99_ms"

    @property
    def needs_percentiles(self) -> bool:
        return self.value.startswith("latency_p")


@dataclass(frozen=True)
class GroupedUsage:
    """The measures of one group; `is_other` for the sum of the groups left out."""

    group: GroupKey
    usage: UsageSummary
    is_other: bool = False


@dataclass(frozen=True)
class UsageBreakdown:
    """The top groups, then "other" when groups were left out, then the whole."""

    grouping: Grouping
    groups: list[GroupedUsage]
    total: UsageSummary


def check_limit(limit: int, field: str = "limit") -> None:
    """Refuse a number of groups outside 1..`MAX_GROUPS`.

    Raises:
        InvalidInput: the limit is out of range.
    """
    if not 1 <= limit <= MAX_GROUPS:
        message = f"{field} must be between 1 and {MAX_GROUPS}, got {limit}"
        raise InvalidInput(message, field=field)


def check_grouping(grouping: Grouping) -> None:
    """Refuse an empty grouping or one that names a dimension twice.

    Raises:
        InvalidInput: the grouping is empty or repeats a dimension.
    """
    if not grouping.dimensions:
        raise InvalidInput("groupBy needs at least one dimension", field="groupBy")
    if len(set(grouping.dimensions)) != len(grouping.dimensions):
        raise InvalidInput("groupBy names a dimension twice", field="groupBy")


def rank(
    groups: dict[GroupKey, UsageTotals],
    *,
    measure: Callable[[UsageSummary], float | int | None],
    limit: int,
    with_percentiles: bool,
    descending: bool = True,
) -> tuple[list[GroupedUsage], UsageTotals | None]:
    """The top `limit` groups by `measure`, and the totals of the rest (None if none).

    Groups without a value of the measure (no priced call, no latency) come
    last; ties are broken by the group's values so the order is stable.
    """
    summaries = [
        (key, summarize(totals, with_percentiles=with_percentiles))
        for key, totals in groups.items()
    ]

    def order(item: tuple[GroupKey, UsageSummary]) -> tuple[bool, float, str]:
        value = measure(item[1])
        if value is None:
            return (True, 0.0, _sortable(item[0]))
        return (False, -value if descending else value, _sortable(item[0]))

    summaries.sort(key=order)
    top = [GroupedUsage(key, summary) for key, summary in summaries[:limit]]
    rest = [groups[key] for key, _ in summaries[limit:]]
    return top, (total_of(rest) if rest else None)


def _sortable(key: GroupKey) -> str:
    return repr(tuple("" if value is None else str(value) for value in key))


async def break_down_usage(
    reader: UsageReader,
    usage_filter: UsageFilter,
    grouping: Grouping,
    *,
    order_by: UsageOrder = UsageOrder.CALLS,
    descending: bool = True,
    limit: int = 10,
    with_percentiles: bool = True,
) -> UsageBreakdown:
    """Usage per group, top `limit` by `order_by`, with an "other" row for the rest.

    Every call belongs to exactly one group per dimension (a missing value is
    the null group), so the groups and "other" add up to the total; with TAG a
    call counts once per tag it carries, and untagged calls form the null tag.

    Raises:
        InvalidInput: an empty or repeated grouping, a limit outside
            1..`MAX_GROUPS`, or a range longer than `MAX_SUMMARY_SPAN`.
    """
    check_grouping(grouping)
    check_limit(limit)
    check_summary_span(usage_filter)
    with_percentiles = with_percentiles or order_by.needs_percentiles

    query = UsageQuery(usage_filter, grouping, with_histograms=with_percentiles)
    rows = await reader.rows(query)
    groups = fold(rows, lambda row: row.group)

    top, rest = rank(
        groups,
        measure=lambda summary: getattr(summary, order_by.value),
        limit=limit,
        with_percentiles=with_percentiles,
        descending=descending,
    )
    if rest is not None:
        other = summarize(rest, with_percentiles=with_percentiles)
        top.append(GroupedUsage(_nulls(grouping), other, is_other=True))
    total = summarize(total_of(groups.values()), with_percentiles=with_percentiles)
    return UsageBreakdown(grouping=grouping, groups=top, total=total)


def _nulls(grouping: Grouping) -> GroupKey:
    return tuple(None for _ in grouping.dimensions)


def group_labels(values: Iterable[object]) -> list[str | None]:
    """Group values as clients see them: text, and null for a missing value."""
    labels: list[str | None] = []
    for value in values:
        if value is None:
            labels.append(None)
        elif isinstance(value, bool):
            labels.append("true" if value else "false")
        else:
            labels.append(str(value))
    return labels
