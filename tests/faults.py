"""Store faults injected at the driver, for tests of what a failed write leaves."""

from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect


def fail_bulk_writes_to(monkeypatch: pytest.MonkeyPatch, collection: str) -> None:
    """Make every `bulk_write` to `collection` fail as a dropped connection would.

    Undo with `monkeypatch.undo()`.
    """
    original = AsyncCollection.bulk_write

    async def failing(self: AsyncCollection[Any], *args: Any, **kwargs: Any) -> Any:
        if self.name == collection:
            raise AutoReconnect("connection reset")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(AsyncCollection, "bulk_write", failing)
