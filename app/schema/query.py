"""Root Query: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import log, session, usage
from app.schema.permissions import CanRead
from app.schema.types.log import Log, LogPage
from app.schema.types.session import Session, SessionPage
from app.schema.types.usage import (
    ErrorBreakdown,
    UsageBreakdown,
    UsageSummary,
    UsageTimeSeries,
)


@strawberry.type(description="Read the calling key's project. Needs the read scope.")
class Query:
    logs: LogPage = strawberry.field(
        resolver=log.logs,
        permission_classes=[CanRead],
        description="Calls, newest first, with the total count of matches.",
    )
    log: Log | None = strawberry.field(
        resolver=log.log,
        permission_classes=[CanRead],
        description="One call by its id; null when the project has no such call.",
    )
    sessions: SessionPage = strawberry.field(
        resolver=session.sessions_,
        permission_classes=[CanRead],
        description="Conversations, most recently active first.",
    )
    session: Session | None = strawberry.field(
        resolver=session.session,
        permission_classes=[CanRead],
        description="One conversation by its id; null when the project has none.",
    )
    usage_summary: UsageSummary = strawberry.field(
        resolver=usage.usage_summary,
        permission_classes=[CanRead],
        description="Measures of every call the filter selects (range up to 731 days).",
    )
    usage_breakdown: UsageBreakdown = strawberry.field(
        resolver=usage.usage_breakdown,
        permission_classes=[CanRead],
        description=(
            'Measures per group, top groups by orderBy, then an "other" row so '
            "the rows add up to the total (range up to 731 days)."
        ),
    )
    usage_time_series: UsageTimeSeries = strawberry.field(
        resolver=usage.usage_time_series,
        permission_classes=[CanRead],
        description=(
            "Measures per time bucket, one point per bucket including empty ones; "
            "days, weeks and months start at local midnight in timeZone."
        ),
    )
    error_breakdown: ErrorBreakdown = strawberry.field(
        resolver=usage.error_breakdown,
        permission_classes=[CanRead],
        description=(
            "Errors by status code and error type, with shares and the newest "
            "example call of each (range up to 731 days)."
        ),
    )
