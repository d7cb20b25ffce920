"""Root Mutation: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import log, session
from app.schema.permissions import CanIngest, IsAdmin
from app.schema.types.log import Log
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
