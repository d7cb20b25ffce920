"""The `User` output type: one end user of the project and their totals."""

import dataclasses
from datetime import datetime

import strawberry

from app import documents
from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.inputs.session import SessionFilterInput, SessionSortInput
from app.schema.types.log import PageInfo
from app.schema.types.session import Session, SessionPage
from app.services import session_filters
from app.services.users import UserUsage as UserUsageRow


async def user_session_count(root: "User", info: strawberry.Info) -> int:
    count: int = await info.context.loaders.session_count.load(str(root.id))
    return count


async def user_sessions(
    root: "User",
    info: strawberry.Info,
    filter: SessionFilterInput | None = None,
    sort: SessionSortInput | None = None,
    pagination: PaginationInput = DEFAULT_PAGINATION,
) -> SessionPage:
    context = info.context
    base = filter.to_filter() if filter is not None else session_filters.SessionFilter()
    page = await session_filters.list_sessions(
        context.caller.project_id,
        dataclasses.replace(base, user_id=str(root.id)),
        first=pagination.page_size(context.settings.max_page_size),
        after=pagination.after,
        order=sort.to_order() if sort is not None else None,
    )
    return SessionPage(
        items=[Session.from_document(row) for row in page.items],
        total_count=page.total_count,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor
        ),
    )


@strawberry.type(
    description=(
        "An end user, as the userId on calls names them. Totals cover every call "
        "since the user was first seen and are kept as calls are stored, so reading "
        "a user is one lookup."
    )
)
class User:
    id: strawberry.ID = strawberry.field(description="The userId your calls carry.")
    first_seen_at: datetime
    last_seen_at: datetime
    call_count: int
    error_count: int
    error_rate: float | None = strawberry.field(
        description="errorCount / callCount; null without calls."
    )
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_prompt_tokens: int
    reasoning_tokens: int
    cost_usd: float = strawberry.field(description="USD, sum of priced calls only.")
    duration_ms: float = strawberry.field(description="Sum of the calls' latencies.")
    models: list[str] = strawberry.field(description="Models used, sorted.")
    providers: list[str] = strawberry.field(description="Providers used, sorted.")

    session_count: int = strawberry.field(
        resolver=user_session_count,
        description="How many sessions belong to this user.",
    )
    sessions: SessionPage = strawberry.field(
        resolver=user_sessions,
        description=(
            "This user's conversations, most recently active first unless sorted "
            "otherwise; filter.userId is ignored here."
        ),
    )

    @classmethod
    def from_document(cls, user: documents.User) -> "User":
        return cls(
            id=strawberry.ID(user.user_id),
            first_seen_at=user.first_seen_at,
            last_seen_at=user.last_seen_at,
            call_count=user.call_count,
            error_count=user.error_count,
            error_rate=user.error_count / user.call_count if user.call_count else None,
            prompt_tokens=user.prompt_tokens,
            completion_tokens=user.completion_tokens,
            total_tokens=user.total_tokens,
            cached_prompt_tokens=user.cached_prompt_tokens,
            reasoning_tokens=user.reasoning_tokens,
            cost_usd=user.cost_usd,
            duration_ms=user.duration_ms,
            models=sorted(user.models),
            providers=sorted(user.providers),
        )


@strawberry.type(description="A page of users in the requested order.")
class UserPage:
    items: list[User]
    total_count: int = strawberry.field(
        description="Users matching the filter, all pages."
    )
    page_info: PageInfo


async def usage_user(root: "UserUsage", info: strawberry.Info) -> User | None:
    row = await info.context.loaders.user_by_id.load(root.user_id)
    return User.from_document(row) if row is not None else None


@strawberry.type(
    description=(
        "One user's calls inside a time range, aggregated from the calls "
        "themselves (not the lifetime totals on User)."
    )
)
class UserUsage:
    user_id: str
    call_count: int
    error_count: int
    error_rate: float
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    duration_ms: float
    first_seen_at: datetime = strawberry.field(description="First call in the range.")
    last_seen_at: datetime = strawberry.field(description="Last call in the range.")
    models: list[str]

    user: User | None = strawberry.field(
        resolver=usage_user,
        description="The user with lifetime totals and sessions.",
    )

    @classmethod
    def from_row(cls, row: UserUsageRow) -> "UserUsage":
        return cls(
            user_id=row.user_id,
            call_count=row.call_count,
            error_count=row.error_count,
            error_rate=row.error_count / row.call_count if row.call_count else 0.0,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            total_tokens=row.total_tokens,
            cost_usd=row.cost_usd,
            duration_ms=row.duration_ms,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            models=row.models,
        )
