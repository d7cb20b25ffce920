"""Calls: GraphQL arguments in, service call, output types out."""

from collections.abc import AsyncGenerator

import strawberry

from app import metrics
from app.errors import InvalidInput, Unavailable
from app.pubsub import CallLogged, SubscriberOverflowed, calls_topic
from app.schema.inputs.log import LogCallInput, LogFilterInput
from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.types.log import Log, LogPage, PageInfo
from app.services import calls
from app.services.calls import LogFilter, log_matches


async def log_call(info: strawberry.Info, input: LogCallInput) -> Log:
    context = info.context
    metrics.observe_batch("graphql", 1)
    try:
        recorded = await calls.record_call(
            context.caller.project_id,
            input.to_call(),
            settings=context.settings,
            broker=context.broker,
        )
    except InvalidInput:
        metrics.record_rejected("invalid")
        raise
    metrics.record_ingested("graphql", 1 if recorded.created else 0)
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


async def call_logged(
    info: strawberry.Info,
    filter: LogFilterInput | None = None,
) -> AsyncGenerator[Log]:
    context = info.context
    log_filter = filter.to_filter() if filter is not None else LogFilter()
    topic = calls_topic(context.caller.project_id)
    async with context.broker.subscribe(topic) as events:
        try:
            async for event in events:
                if isinstance(event, CallLogged) and log_matches(log_filter, event.log):
                    yield Log.from_document(event.log)
        except SubscriberOverflowed:
            message = "this subscriber fell behind and was dropped; subscribe again"
            raise Unavailable(message, retry_after_s=0) from None
