"""One recorded LLM call."""

from datetime import datetime
from typing import Literal

import pymongo
from beanie import Document
from pydantic import BaseModel, Field

Status = Literal["success", "error"]
CostSource = Literal["reported", "price_table", "custom", "unpriced"]
MetadataValue = str | int | float | bool


class CallError(BaseModel):
    """What went wrong with a call, as the caller reported it."""

    type: str | None = None
    message: str | None = None


class Log(Document):
    """One LLM call, stored in `llm_logs`.

    The `_id` is `"<project_id>:<call_id>"`: the client's call id made unique per
    project, so a retried write collides on `_id` (error 11000) and is idempotent
    without a secondary unique index (the embedded engine checks those slowly).

    Token totals follow OpenTelemetry's GenAI conventions: `prompt_tokens` and
    `completion_tokens` are inclusive totals; `cached_prompt_tokens` and
    `cache_write_tokens` are parts of `prompt_tokens`, `reasoning_tokens` is part
    of `completion_tokens`.
    """

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    call_id: str
    project_id: str
    timestamp: datetime
    received_at: datetime
    environment: str = "production"
    provider: str
    model: str
    operation: str = "chat"
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    prompt: str | None = None
    response: str | None = None
    prompt_truncated: bool = False
    response_truncated: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_prompt_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    duration_ms: float | None = None
    time_to_first_token_ms: float | None = None
    streaming: bool = False
    status: Status = "success"
    status_code: int | None = None
    error: CallError | None = None
    cost_usd: float | None = None
    cost_source: CostSource = "unpriced"
    price_version: str | None = None
    # The ingest batch that stored the call. Its totals (session, user,
    # roll-ups) include it exactly when that batch has no `PendingTotals`
    # document left; a retry finds it pending and finishes the job.
    totals_batch: str | None = None

    class Settings:
        name = "llm_logs"
        use_state_management = False
        validate_on_save = False
        indexes = [
            pymongo.IndexModel(
                [("project_id", 1), ("timestamp", -1)], name="project_time"
            ),
            pymongo.IndexModel(
                [("project_id", 1), ("session_id", 1), ("timestamp", 1)],
                name="project_session_time",
            ),
            pymongo.IndexModel(
                [("project_id", 1), ("user_id", 1), ("timestamp", -1)],
                name="project_user_time",
            ),
        ]


def log_key(project_id: str, call_id: str) -> str:
    """The `_id` of a call: unique per project, cheap to check on insert."""
    return f"{project_id}:{call_id}"
