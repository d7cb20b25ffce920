"""Usage aggregates: GraphQL arguments in, service call, output types out."""

from collections.abc import Iterable, Sequence
from typing import Annotated

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from app.pipelines.usage_rows import Grouping, GroupKey
from app.schema.inputs.usage import (
    Granularity,
    UsageDimension,
    UsageFilterInput,
    UsageOrderBy,
    grouping_of,
)
from app.schema.types.usage import (
    ErrorBreakdown,
    ErrorGroup,
    UsageBreakdown,
    UsageGroup,
    UsageGroupValue,
    UsagePoint,
    UsageSeries,
    UsageSummary,
    UsageTimeSeries,
    UsageTotal,
    measures,
)
from app.services.usage import summarize_usage
from app.services.usage_breakdown import break_down_usage, group_labels
from app.services.usage_errors import break_down_errors
from app.services.usage_timeseries import usage_time_series as series_of

# Percentiles need latency histograms, which cost time to read and merge; they
# are only computed when the query selects one of these fields.
_PERCENTILE_FIELDS = frozenset(
    {
        "latencyP50Ms",
        "latencyP90Ms",
        "latencyP95Ms",
        "latencyP99Ms",
        "ttftP50Ms",
        "ttftP95Ms",
    }
)

FilterArgument = Annotated[
    UsageFilterInput, strawberry.argument(description="Which calls to measure.")
]
GroupByArgument = Annotated[
    list[UsageDimension],
    strawberry.argument(description="Dimensions to group by, in order."),
]
MetadataKeyArgument = Annotated[
    str | None,
    strawberry.argument(description="The metadata key, when groupBy has METADATA."),
]
LimitArgument = Annotated[
    int,
    strawberry.argument(
        description='Groups to return before the "other" row, 1 to 1000.'
    ),
]


def selects_percentiles(info: strawberry.Info) -> bool:
    """Whether the query asks for any percentile below this field."""
    return _selects(info.selected_fields, _PERCENTILE_FIELDS)


def _selects(
    selections: Iterable[SelectedField | FragmentSpread | InlineFragment],
    names: frozenset[str],
) -> bool:
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name in names:
            return True
        if _selects(selection.selections, names):
            return True
    return False


def _group(
    grouping: Grouping, dimensions: Sequence[UsageDimension], key: GroupKey
) -> list[UsageGroupValue]:
    return [
        UsageGroupValue(
            dimension=dimension,
            metadata_key=(
                grouping.metadata_key if dimension is UsageDimension.METADATA else None
            ),
            value=label,
        )
        for dimension, label in zip(dimensions, group_labels(key), strict=True)
    ]


async def usage_summary(info: strawberry.Info, filter: FilterArgument) -> UsageSummary:
    context = info.context
    usage_filter = filter.to_filter(context.caller.project_id)
    summary = await summarize_usage(
        context.usage, usage_filter, with_percentiles=selects_percentiles(info)
    )
    return UsageSummary.of(summary, usage_filter)


async def usage_breakdown(
    info: strawberry.Info,
    filter: FilterArgument,
    group_by: GroupByArgument,
    metadata_key: MetadataKeyArgument = None,
    order_by: UsageOrderBy = UsageOrderBy.CALLS,
    descending: bool = True,
    limit: LimitArgument = 10,
) -> UsageBreakdown:
    context = info.context
    grouping = grouping_of(group_by, metadata_key)
    breakdown = await break_down_usage(
        context.usage,
        filter.to_filter(context.caller.project_id),
        grouping,
        order_by=order_by,
        descending=descending,
        limit=limit,
        with_percentiles=selects_percentiles(info),
    )
    return UsageBreakdown(
        group_by=group_by,
        groups=[
            UsageGroup(
                group=_group(grouping, group_by, grouped.group),
                is_other=grouped.is_other,
                **measures(grouped.usage),
            )
            for grouped in breakdown.groups
        ],
        total=UsageTotal(**measures(breakdown.total)),
    )


async def usage_time_series(
    info: strawberry.Info,
    filter: FilterArgument,
    granularity: Granularity,
    time_zone: Annotated[
        str,
        strawberry.argument(
            description="IANA zone days, weeks and months follow, e.g. Europe/Paris."
        ),
    ] = "UTC",
    group_by: Annotated[
        list[UsageDimension] | None,
        strawberry.argument(description="Optional: one series per group."),
    ] = None,
    metadata_key: MetadataKeyArgument = None,
    limit: Annotated[
        int,
        strawberry.argument(
            description='Series to return before the "other" series, 1 to 1000.'
        ),
    ] = 10,
) -> UsageTimeSeries:
    context = info.context
    dimensions = group_by or []
    grouping = grouping_of(dimensions, metadata_key)
    series = await series_of(
        context.usage,
        filter.to_filter(context.caller.project_id),
        granularity=granularity.to_service(),
        time_zone=time_zone,
        grouping=grouping,
        limit=limit,
        with_percentiles=selects_percentiles(info),
    )
    edges = list(zip(series.bucket_starts, series.bucket_ends, strict=True))
    return UsageTimeSeries(
        granularity=granularity,
        time_zone=time_zone,
        series=[
            UsageSeries(
                group=_group(grouping, dimensions, one.group),
                is_other=one.is_other,
                points=[
                    UsagePoint(start=start, end=end, **measures(point))
                    for (start, end), point in zip(edges, one.points, strict=True)
                ],
            )
            for one in series.series
        ],
    )


async def error_breakdown(
    info: strawberry.Info, filter: FilterArgument, limit: LimitArgument = 10
) -> ErrorBreakdown:
    context = info.context
    breakdown = await break_down_errors(
        context.usage, filter.to_filter(context.caller.project_id), limit=limit
    )
    return ErrorBreakdown(
        calls=breakdown.calls,
        errors=breakdown.errors,
        groups=[
            ErrorGroup(
                status_code=group.status_code,
                error_type=group.error_type,
                errors=group.errors,
                share_of_errors=group.share_of_errors,
                share_of_calls=group.share_of_calls,
                latest_call_id=(
                    strawberry.ID(group.latest_call_id)
                    if group.latest_call_id is not None
                    else None
                ),
                latest_at=group.latest_at,
                is_other=group.is_other,
            )
            for group in breakdown.groups
        ],
    )
