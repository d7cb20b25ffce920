"""Calls of many sessions in one query, for `Session.calls` in lists."""

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from app.documents import Log
from app.services.calls import logs_by_sessions

MAX_CALLS_PER_SESSION = 500


class LogsBySessionLoader(DataLoader[str, list[Log]]):
    """Session id -> its calls in time order (at most `MAX_CALLS_PER_SESSION`)."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        super().__init__(load_fn=self._load)

    async def _load(self, session_ids: Sequence[str]) -> list[list[Log]]:
        grouped = await logs_by_sessions(
            self.project_id, session_ids, limit_per_session=MAX_CALLS_PER_SESSION
        )
        return [grouped[session_id] for session_id in session_ids]
