"""The one shape every ingest route (GraphQL, SDK JSON, OTLP, origin REST) maps to."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from app.documents.log import MetadataValue


class CallIn(BaseModel):
    """An LLM call as a client described it, before validation.

    Every route converts its own wire format into this model and hands it to
    `app.services.calls`; validation, pricing and storage happen there once.
    Token totals are inclusive (OpenTelemetry GenAI): cached and cache-write
    tokens are parts of `prompt_tokens`, reasoning tokens part of
    `completion_tokens`.

    JSON routes validate straight into it: each field is read by its Python name
    (`prompt_tokens`) or its camelCase name (`promptTokens`); unknown fields are
    ignored.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )

    id: str | None = None
    timestamp: datetime | None = None
    environment: str | None = None
    provider: str | None = None
    model: str | None = None
    operation: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    prompt: str | None = None
    response: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_prompt_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    duration_ms: float | None = None
    time_to_first_token_ms: float | None = None
    streaming: bool = False
    status: str | None = None
    status_code: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    cost_usd: float | None = None
