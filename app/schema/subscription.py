"""Root Subscription: live events of the calling key's project."""

import strawberry

from app.resolvers import log
from app.schema.permissions import CanRead
from app.schema.types.log import Log


@strawberry.type(
    description="Live feeds over graphql-transport-ws. Needs the read scope."
)
class Subscription:
    call_logged: Log = strawberry.subscription(  # type: ignore[assignment]  # the plugin types a subscription by its generator
        resolver=log.call_logged,
        permission_classes=[CanRead],
        description=(
            "Each call stored after subscribing that matches the filter. A subscriber "
            "that falls too far behind receives an UNAVAILABLE error and must subscribe again."
        ),
    )
