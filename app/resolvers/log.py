"""Calls: GraphQL arguments in, service call, output types out."""

import strawberry

from app.schema.inputs.log import LogCallInput, LogFilterInput
from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.types.log import Log, LogPage, PageInfo
from app.services import calls
from app.services.calls import LogFilter


async def log_call(info: strawberry.Info, input: LogCallInput) -> Log:
    context = info.context
    recorded = await calls.record_call(
        context.caller.project_id,
        input.to_call(),
        settings=context.settings,
        broker=context.broker,
    )
    return Log.from_document(recorded.log)


async def logs(
    info: strawberry.Info,
    filter: LogFilterInput | None = None,
    pagination: PaginationInput = DEFAULT_PAGINATION,
) -> LogPage:
    context = info.context
    page = await calls.list_logs(
        context.caller.project_id,
        filter.to_filter() if filter is not None else LogFilter(),
        first=pagination.page_size(context.settings.max_page_size),
        after=pagination.after,
    )
    return LogPage(
        items=[Log.from_document(row) for row in page.items],
        total_count=page.total_count,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor
        ),
    )


async def log(info: strawberry.Info, id: strawberry.ID) -> Log | None:
    row = await calls.get_log(info.context.caller.project_id, str(id))
    return Log.from_document(row) if row is not None else None
