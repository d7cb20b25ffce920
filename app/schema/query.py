"""Root Query: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import log, price, session
from app.schema.permissions import CanRead
from app.schema.types.log import Log, LogPage
from app.schema.types.price import CustomPrice, UnpricedModel
from app.schema.types.session import Session, SessionPage


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
