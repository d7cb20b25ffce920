"""Calls built in memory for pipeline tests, which need no database."""

from datetime import UTC, datetime
from typing import Any

from app.documents.log import Log

TEN_AM = datetime(2025, 6, 1, 10, tzinfo=UTC)


def make_log(**overrides: Any) -> Log:
    """A stored-looking call of project `p1` at `TEN_AM`; `overrides` replace fields."""
    fields: dict[str, Any] = {
        "id": "p1:call",
        "call_id": "call",
        "project_id": "p1",
        "timestamp": TEN_AM,
        "received_at": TEN_AM,
        "provider": "openai",
        "model": "gpt-4o",
    }
    # Constructing without validation needs no `init_beanie`.
    log: Log = Log.model_construct(**(fields | overrides))
    return log
