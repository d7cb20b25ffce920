"""DataLoaders, built per request (or per subscription event) and per project."""

from dataclasses import dataclass

from app.loaders.logs_by_session import LogsBySessionLoader


@dataclass(frozen=True, slots=True)
class Loaders:
    """Every loader a request may use; caches live as long as this object."""

    logs_by_session: LogsBySessionLoader

    @classmethod
    def for_project(cls, project_id: str) -> "Loaders":
        return cls(logs_by_session=LogsBySessionLoader(project_id))
