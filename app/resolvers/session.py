"""Sessions: GraphQL arguments in, service call, output types out."""

import strawberry

from app.schema.inputs.pagination import DEFAULT_PAGINATION, PaginationInput
from app.schema.inputs.session import SessionFilterInput
from app.schema.types.log import PageInfo
from app.schema.types.session import Session, SessionPage
from app.services import sessions
from app.services.sessions import SessionFilter


async def sessions_(
    info: strawberry.Info,
    filter: SessionFilterInput | None = None,
    pagination: PaginationInput = DEFAULT_PAGINATION,
) -> SessionPage:
    context = info.context
    page = await sessions.list_sessions(
        context.caller.project_id,
        filter.to_filter() if filter is not None else SessionFilter(),
        first=pagination.page_size(context.settings.max_page_size),
        after=pagination.after,
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
