"""Calls: GraphQL arguments in, service call, output types out."""

import strawberry

from app import metrics
from app.errors import InvalidInput
from app.schema.inputs.log import LogCallInput, LogFilterInput
from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.types.ingest import LogCallResult, LogCallsPayload
from app.schema.types.log import Log, LogPage, PageInfo
from app.services import call_batch, calls
from app.services.call_batch import UnreadableCall
from app.services.call_input import CallIn
from app.services.call_writer import record_call
from app.services.calls import LogFilter


async def log_call(info: strawberry.Info, input: LogCallInput) -> Log:
    context = info.context
    metrics.observe_batch("graphql", 1)
    try:
        recorded = await record_call(
            context.caller.project_id,
            input.to_call(),
            settings=context.settings,
            writer=context.call_writer,
        )
    except InvalidInput:
        metrics.record_rejected("invalid")
        raise
    metrics.record_ingested("graphql", 1 if recorded.created else 0)
    return Log.from_document(recorded.log)


async def log_calls(
    info: strawberry.Info, inputs: list[LogCallInput]
) -> LogCallsPayload:
    context = info.context
    metrics.observe_batch("graphql", len(inputs))
    call_batch.check_batch_size(len(inputs), context.settings, field="inputs")
    items: list[CallIn | UnreadableCall] = []
    for item in inputs:
        try:
            items.append(item.to_call())
        except InvalidInput as error:
            items.append(UnreadableCall(call_id=item.id, error=error))
    batch = await call_batch.record_calls(
        context.caller.project_id,
        items,
        settings=context.settings,
        broker=context.broker,
    )
    metrics.record_ingested("graphql", batch.count("stored"))
    metrics.record_rejected("invalid", batch.count("rejected"))
    return LogCallsPayload(
        results=[LogCallResult.from_item(item) for item in batch.items],
        stored_count=batch.count("stored"),
        duplicate_count=batch.count("duplicate"),
        rejected_count=batch.count("rejected"),
    )


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
