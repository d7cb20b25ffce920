"""Root Mutation: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import log, price, session
from app.schema.permissions import CanIngest, IsAdmin
from app.schema.types.ingest import LogCallsPayload
from app.schema.types.log import Log
from app.schema.types.price import CustomPrice, RepriceReport
from app.schema.types.session import AddedSessionMessage, DeletedSession, Session


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
    set_custom_price: CustomPrice = strawberry.mutation(
        resolver=price.set_custom_price,
        permission_classes=[IsAdmin],
        description=(
            "Add a custom price, or replace the one with the same modelPattern, "
            "provider and effectiveFrom (admin scope). New calls use it at once; "
            "stored calls keep their cost until repriceLogs."
        ),
    )
    delete_custom_price: bool = strawberry.mutation(
        resolver=price.delete_custom_price,
        permission_classes=[IsAdmin],
        description=(
            "Delete one custom price (admin scope); false when there was none. "
            "Stored calls keep their cost until repriceLogs."
        ),
    )
    reprice_logs: RepriceReport = strawberry.mutation(
        resolver=price.reprice_logs,
        permission_classes=[IsAdmin],
        description=(
            "Price the filtered calls again with today's price table and custom "
            "prices (admin scope); calls whose cost was reported are never changed. "
            "dryRun: true reports per model how many calls and how much cost would "
            "change and writes nothing. A real run updates the calls and keeps "
            "session totals and hourly roll-ups in step, chunk by chunk in "
            "transactions; one run per project at a time (CONFLICT otherwise); at "
            "most maxRepriceCalls (default 100000) calls per run."
        ),
    )
    start_session: Session = strawberry.mutation(
        resolver=session.start_session,
        permission_classes=[CanIngest],
        description=(
            "Start a conversation (ingest scope). Optional: the first call or "
            "message with a sessionId creates the same session."
        ),
    )
    add_session_message: AddedSessionMessage = strawberry.mutation(
        resolver=session.add_session_message,
        permission_classes=[CanIngest],
        description=(
            "Append a user, assistant, system or tool turn to a conversation "
            "(ingest scope), creating the session if needed. Its tokens, cost and "
            "duration go to the session's message totals, not its call totals."
        ),
    )
    complete_session: Session = strawberry.mutation(
        resolver=session.complete_session,
        permission_classes=[CanIngest],
        description=(
            "Mark a conversation COMPLETED (ingest scope); completing it again "
            "changes nothing. Later calls still add to its totals. NOT_FOUND when "
            "the project has no such session."
        ),
    )
    delete_session: DeletedSession = strawberry.mutation(
        resolver=session.delete_session,
        permission_classes=[IsAdmin],
        description=(
            "Delete a conversation and its messages (admin scope). Its calls are "
            "kept with all their data but lose the link: their sessionId becomes "
            "null, and user totals are unchanged. A later call or message with the "
            "same sessionId starts a new session. NOT_FOUND when the project has no "
            "such session."
        ),
    )
