"""Root Subscription: live events of the calling key's project."""

import strawberry

from app.resolvers import live
from app.schema.permissions import CanRead
from app.schema.types.live import SessionUpdate, UsageTick
from app.schema.types.log import Log

_FELL_BEHIND = (
    " A subscriber that falls too far behind receives an UNAVAILABLE error and "
    "must subscribe again."
)


@strawberry.type(
    description=(
        "Live feeds over graphql-transport-ws. Needs the read scope. Authenticate "
        'in connection_init with {"authorization": "Bearer <key>"}; a revoked '
        "key's socket is closed with code 4403 within seconds."
    )
)
class Subscription:
    call_logged: Log = strawberry.subscription(  # type: ignore[assignment]  # the plugin types a subscription by its generator
        resolver=live.call_logged,
        permission_classes=[CanRead],
        description="Each call stored after subscribing that matches the filter."
        + _FELL_BEHIND,
    )
    session_updated: SessionUpdate = strawberry.subscription(  # type: ignore[assignment]  # the plugin types a subscription by its generator
        resolver=live.session_updated,
        permission_classes=[CanRead],
        description=(
            "Each change to a session after subscribing (created, totals changed, "
            "message added, completed, abandoned, deleted) that matches the filter."
        )
        + _FELL_BEHIND,
    )
    usage_ticked: UsageTick = strawberry.subscription(  # type: ignore[assignment]  # the plugin types a subscription by its generator
        resolver=live.usage_ticked,
        permission_classes=[CanRead],
        description=(
            "Live totals of the last windowMinutes (1 to 60, default 5): one tick "
            "at once, then one every intervalSeconds (1 to 300, default 10)."
        )
        + _FELL_BEHIND,
    )
