"""Root Mutation: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import log
from app.schema.permissions import CanIngest
from app.schema.types.log import Log


@strawberry.type(description="Change the calling key's project.")
class Mutation:
    log_call: Log = strawberry.mutation(
        resolver=log.log_call,
        permission_classes=[CanIngest],
        description=(
            "Record one LLM call (ingest scope). Sending an id that is already "
            "stored returns the stored call and changes nothing."
        ),
    )
