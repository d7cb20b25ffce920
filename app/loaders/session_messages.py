"""Messages by position, for the previews of many sessions in one query."""

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from app.documents import SessionMessage
from app.services.session_messages import messages_at


class MessageAtLoader(DataLoader[tuple[str, int], SessionMessage | None]):
    """(session id, seq) -> the message at that position, or None."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        super().__init__(load_fn=self._load)

    async def _load(
        self, positions: Sequence[tuple[str, int]]
    ) -> list[SessionMessage | None]:
        found = await messages_at(self.project_id, positions)
        return [found.get(position) for position in positions]
