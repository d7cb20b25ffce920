"""Root Mutation: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import log
from app.schema.permissions import CanIngest
from app.schema.types.ingest import LogCallsPayload
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
    log_calls: LogCallsPayload = strawberry.mutation(
        resolver=log.log_calls,
        permission_classes=[CanIngest],
        description=(
            "Record up to maxBatchSize (default 1000) calls in one request (ingest "
            "scope), with one result per call: STORED, DUPLICATE or REJECTED. A "
            "rejected call does not stop the others. A batch over the limit fails "
            "with PAYLOAD_TOO_LARGE; a store failure fails the whole batch with "
            "UNAVAILABLE and nothing is reported stored."
        ),
    )
