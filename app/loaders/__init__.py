"""DataLoaders, built per request (or per subscription event) and per project."""

from dataclasses import dataclass

from app.loaders.logs_by_session import LogsBySessionLoader
from app.loaders.session_messages import MessageAtLoader
from app.loaders.users import SessionCountLoader, UserByIdLoader


@dataclass(frozen=True, slots=True)
class Loaders:
    """Every loader a request may use; caches live as long as this object."""

    logs_by_session: LogsBySessionLoader
    message_at: MessageAtLoader
    user_by_id: UserByIdLoader
    session_count: SessionCountLoader

    @classmethod
    def for_project(cls, project_id: str) -> "Loaders":
        return cls(
            logs_by_session=LogsBySessionLoader(project_id),
            message_at=MessageAtLoader(project_id),
            user_by_id=UserByIdLoader(project_id),
            session_count=SessionCountLoader(project_id),
        )
