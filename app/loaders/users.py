"""Users and their session counts, many per query, for lists of sessions and users."""

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from app.documents import User
from app.services.users import session_counts, users_by_ids


class UserByIdLoader(DataLoader[str, User | None]):
    """User id -> the user document (None when the project has no such user)."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        super().__init__(load_fn=self._load)

    async def _load(self, user_ids: Sequence[str]) -> list[User | None]:
        found = await users_by_ids(self.project_id, user_ids)
        return [found.get(user_id) for user_id in user_ids]


class SessionCountLoader(DataLoader[str, int]):
    """User id -> how many sessions belong to the user."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        super().__init__(load_fn=self._load)

    async def _load(self, user_ids: Sequence[str]) -> list[int]:
        counts = await session_counts(self.project_id, user_ids)
        return [counts.get(user_id, 0) for user_id in user_ids]
