"""Sessions: GraphQL arguments in, service call, output types out."""

from typing import cast

import strawberry

from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.inputs.session import (
    ActivityRangeInput,
    AddSessionMessageInput,
    SessionFilterInput,
    SessionSortInput,
    StartSessionInput,
)
from app.schema.types.log import PageInfo
from app.schema.types.outlier import (
    OutlierMethod,
    SessionOutlierMeasure,
    SessionOutlierReport,
)
from app.schema.types.session import (
    AddedSessionMessage,
    DeletedSession,
    Session,
    SessionPage,
)
from app.schema.types.session_message import SessionMessage
from app.schema.types.session_stats import SessionStats
from app.services import (
    outliers,
    session_filters,
    session_messages,
    session_stats,
    sessions,
)
from app.services.session_filters import SessionFilter

MAX_OUTLIERS = 100


async def sessions_(
    info: strawberry.Info,
    filter: SessionFilterInput | None = None,
    sort: SessionSortInput | None = None,
    pagination: PaginationInput = DEFAULT_PAGINATION,
) -> SessionPage:
    context = info.context
    page = await session_filters.list_sessions(
        context.caller.project_id,
        filter.to_filter() if filter is not None else SessionFilter(),
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


async def session(info: strawberry.Info, id: strawberry.ID) -> Session | None:
    row = await sessions.get_session(info.context.caller.project_id, str(id))
    return Session.from_document(row) if row is not None else None


async def session_stats_(
    info: strawberry.Info, filter: SessionFilterInput | None = None
) -> SessionStats:
    stats = await session_stats.session_statistics(
        info.context.caller.project_id,
        filter.to_filter() if filter is not None else SessionFilter(),
    )
    return SessionStats.from_row(stats)


async def session_outliers(
    info: strawberry.Info,
    range: ActivityRangeInput,
    measure: SessionOutlierMeasure = SessionOutlierMeasure.COST,
    method: OutlierMethod = OutlierMethod.MAD,
    threshold: float | None = None,
    limit: int = 20,
) -> SessionOutlierReport:
    start, end = range.bounds()
    result = await outliers.session_outliers(
        info.context.caller.project_id,
        start=start,
        end=end,
        measure=cast(outliers.SessionMeasure, measure.value),
        method=method.value,
        threshold=outlier_threshold(method, threshold),
        limit=outlier_limit(limit),
    )
    return SessionOutlierReport.from_result(result)


def outlier_threshold(method: OutlierMethod, threshold: float | None) -> float:
    if threshold is not None:
        return threshold
    return 3.5 if method is OutlierMethod.MAD else 99.0


def outlier_limit(limit: int) -> int:
    outliers.check_limit(limit, MAX_OUTLIERS)
    return limit


async def start_session(info: strawberry.Info, input: StartSessionInput) -> Session:
    context = info.context
    started = await sessions.start_session(
        context.caller.project_id,
        input.to_start(),
        settings=context.settings,
        broker=context.broker,
    )
    return Session.from_document(started.session)


async def add_session_message(
    info: strawberry.Info, input: AddSessionMessageInput
) -> AddedSessionMessage:
    context = info.context
    added = await session_messages.add_message(
        context.caller.project_id,
        input.to_message(),
        settings=context.settings,
        broker=context.broker,
    )
    return AddedSessionMessage(
        message=SessionMessage.from_document(added.message),
        session=Session.from_document(added.session),
        created=added.created,
    )


async def complete_session(info: strawberry.Info, id: strawberry.ID) -> Session:
    context = info.context
    row = await sessions.complete_session(
        context.caller.project_id, str(id), broker=context.broker
    )
    return Session.from_document(row)


async def delete_session(info: strawberry.Info, id: strawberry.ID) -> DeletedSession:
    context = info.context
    deleted = await sessions.delete_session(
        context.caller.project_id, str(id), broker=context.broker
    )
    return DeletedSession(
        id=strawberry.ID(deleted.session_id),
        messages_deleted=deleted.messages_deleted,
        calls_unlinked=deleted.calls_unlinked,
    )
