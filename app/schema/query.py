"""Root Query: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import api_key, log, price, usage
from app.resolvers import project as project_resolvers
from app.resolvers import session as session_resolvers
from app.resolvers import user as user_resolvers
from app.schema.permissions import CanManage, CanRead, IsServerAdmin
from app.schema.types.log import Log, LogPage
from app.schema.types.outlier import (
    OUTLIER_RULES,
    SessionOutlierReport,
    UserOutlierReport,
)
from app.schema.types.price import CustomPrice, UnpricedModel
from app.schema.types.project import ApiKey, Project
from app.schema.types.session import Session, SessionPage
from app.schema.types.session_stats import SessionStats
from app.schema.types.usage import (
    ErrorBreakdown,
    UsageBreakdown,
    UsageSummary,
    UsageTimeSeries,
)
from app.schema.types.user import User, UserPage, UserUsage


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
        resolver=session_resolvers.sessions_,
        permission_classes=[CanRead],
        description=(
            "Conversations, most recently active first unless sorted otherwise. "
            "Every sort pages with stable cursors."
        ),
    )
    session: Session | None = strawberry.field(
        resolver=session_resolvers.session,
        permission_classes=[CanRead],
        description="One conversation by its id; null when the project has none.",
    )
    project: Project | None = strawberry.field(
        resolver=project_resolvers.project,
        description=(
            "The calling key's project (any scope); id may be omitted. With the "
            "server admin token, the project with this id. Null when there is none."
        ),
    )
    projects: list[Project] = strawberry.field(
        resolver=project_resolvers.projects_,
        permission_classes=[IsServerAdmin],
        description="Every project by slug (first 1000). Server admin token only.",
    )
    api_keys: list[ApiKey] = strawberry.field(
        resolver=api_key.api_keys,
        permission_classes=[CanManage],
        description=(
            "The project's keys, revoked ones included, oldest first. Needs the "
            "admin scope (or the server admin token, naming the project)."
        ),
    )
    session_stats: SessionStats = strawberry.field(
        resolver=session_resolvers.session_stats_,
        permission_classes=[CanRead],
        description=(
            "Count, per-session averages and p50/p90/p99, and totals of the "
            "sessions the filter selects."
        ),
    )
    session_outliers: SessionOutlierReport = strawberry.field(
        resolver=session_resolvers.session_outliers,
        permission_classes=[CanRead],
        description=(
            "Sessions with activity in the range whose cost, calls or call rate is "
            f"far above the project's norm over the same sessions. {OUTLIER_RULES} "
            "threshold defaults to 3.5 (MAD) or 99 (PERCENTILE); limit 1 to 100."
        ),
    )
    users: UserPage = strawberry.field(
        resolver=user_resolvers.users_,
        permission_classes=[CanRead],
        description="End users with lifetime totals, most recently seen first by default.",
    )
    user: User | None = strawberry.field(
        resolver=user_resolvers.user,
        permission_classes=[CanRead],
        description="One end user by id (one lookup); null when the project has none.",
    )
    top_users: list[UserUsage] = strawberry.field(
        resolver=user_resolvers.top_users,
        permission_classes=[CanRead],
        description=(
            "The users with the highest cost or most calls in the range (at most "
            "93 days), from the calls themselves; limit 1 to 100."
        ),
    )
    user_outliers: UserOutlierReport = strawberry.field(
        resolver=user_resolvers.user_outliers,
        permission_classes=[CanRead],
        description=(
            "Users whose cost or calls in the range (at most 93 days) are far above "
            f"the norm of the users active in it. {OUTLIER_RULES} threshold defaults "
            "to 3.5 (MAD) or 99 (PERCENTILE); limit 1 to 100."
        ),
    )
    custom_prices: list[CustomPrice] = strawberry.field(
        resolver=price.custom_prices,
        permission_classes=[CanRead],
        description="The project's custom prices, by model pattern then date.",
    )
    unpriced_models: list[UnpricedModel] = strawberry.field(
        resolver=price.unpriced_models,
        permission_classes=[CanRead],
        description=(
            "Provider and model pairs whose calls could not be priced, with how "
            "many, most first (at most 200 rows). Without filter.start, the 30 days "
            "before filter.end (or now)."
        ),
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
