"""Users: GraphQL arguments in, service call, output types out."""

from typing import cast

import strawberry

from app.pipelines.users import UserMeasure
from app.resolvers.session import outlier_limit, outlier_threshold
from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.inputs.session import ActivityRangeInput
from app.schema.inputs.user import UserFilterInput, UserRanking, UserSortInput
from app.schema.types.log import PageInfo
from app.schema.types.outlier import (
    OutlierMethod,
    UserOutlierMeasure,
    UserOutlierReport,
)
from app.schema.types.user import User, UserPage, UserUsage
from app.services import outliers, users
from app.services.users import UserFilter


async def users_(
    info: strawberry.Info,
    filter: UserFilterInput | None = None,
    sort: UserSortInput | None = None,
    pagination: PaginationInput = DEFAULT_PAGINATION,
) -> UserPage:
    context = info.context
    page = await users.list_users(
        context.caller.project_id,
        filter.to_filter() if filter is not None else UserFilter(),
        first=pagination.page_size(context.settings.max_page_size),
        after=pagination.after,
        order=sort.to_order() if sort is not None else None,
    )
    return UserPage(
        items=[User.from_document(row) for row in page.items],
        total_count=page.total_count,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor
        ),
    )


async def user(info: strawberry.Info, id: strawberry.ID) -> User | None:
    row = await users.get_user(info.context.caller.project_id, str(id))
    return User.from_document(row) if row is not None else None


async def top_users(
    info: strawberry.Info,
    range: ActivityRangeInput,
    by: UserRanking = UserRanking.COST,
    limit: int = 10,
) -> list[UserUsage]:
    start, end = range.bounds()
    rows = await users.user_usage(
        info.context.caller.project_id,
        start=start,
        end=end,
        order_by=cast(UserMeasure, by.value),
        limit=outlier_limit(limit),
    )
    return [UserUsage.from_row(row) for row in rows]


async def user_outliers(
    info: strawberry.Info,
    range: ActivityRangeInput,
    measure: UserOutlierMeasure = UserOutlierMeasure.COST,
    method: OutlierMethod = OutlierMethod.MAD,
    threshold: float | None = None,
    limit: int = 20,
) -> UserOutlierReport:
    start, end = range.bounds()
    result = await outliers.user_outliers(
        info.context.caller.project_id,
        start=start,
        end=end,
        measure=cast(outliers.UserMeasure, measure.value),
        method=method.value,
        threshold=outlier_threshold(method, threshold),
        limit=outlier_limit(limit),
    )
    return UserOutlierReport.from_result(result)
