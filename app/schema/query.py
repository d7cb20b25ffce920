"""Root Query: declarative fields pointing at resolvers."""

import strawberry

from app.resolvers import api_key, log, session
from app.resolvers import project as project_resolvers
from app.schema.permissions import CanManage, CanRead, IsServerAdmin
from app.schema.types.log import Log, LogPage
from app.schema.types.project import ApiKey, Project
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
    project: Project | None = strawberry.field(
        resolver=project_resolvers.project,
        description=(
            "The calling key's project (any scope); id may be omitted. With the "
            "server admin token, the project with this id. Null when there is none."
        ),
    )
    projects: list[Project] = strawberry.field(
        resolver=project_resolvers.projects_,
        permission_classes=[IsServerAdmin],
        description="Every project by slug (first 1000). Server admin token only.",
    )
    api_keys: list[ApiKey] = strawberry.field(
        resolver=api_key.api_keys,
        permission_classes=[CanManage],
        description=(
            "The project's keys, revoked ones included, oldest first. Needs the "
            "admin scope (or the server admin token, naming the project)."
        ),
    )
