"""The `Log` output type: one recorded LLM call."""

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app import documents


@strawberry.enum(description="Whether the provider answered the call successfully.")
class CallStatus(Enum):
    SUCCESS = "success"
    ERROR = "error"


@strawberry.enum(description="Where a call's cost came from.")
class CostSource(Enum):
    REPORTED = strawberry.enum_value("reported", description="Sent by the client.")
    PRICE_TABLE = strawberry.enum_value(
        "price_table", description="Computed on the server from list prices."
    )
    CUSTOM = strawberry.enum_value(
        "custom", description="Computed from the project's custom prices."
    )
    UNPRICED = strawberry.enum_value(
        "unpriced", description="No price known for the model: cost is null, not 0."
    )


@strawberry.type(description="What went wrong with a call, as the caller reported it.")
class CallError:
    type: str | None = strawberry.field(
        description="Error class or code, e.g. RateLimitError."
    )
    message: str | None


@strawberry.type(
    description=(
        "One LLM call. Token counts follow OpenTelemetry's GenAI conventions: "
        "promptTokens and completionTokens are inclusive totals; cachedPromptTokens "
        "and cacheWriteTokens are parts of promptTokens, reasoningTokens is part of "
        "completionTokens. A null count means the caller did not report it."
    )
)
class Log:
    id: strawberry.ID = strawberry.field(
        description="The client's call id, unique within the project."
    )
    timestamp: datetime = strawberry.field(description="When the call started (UTC).")
    received_at: datetime = strawberry.field(
        description="When the server stored it (UTC)."
    )
    environment: str
    provider: str = strawberry.field(description="Lower-cased, e.g. openai, anthropic.")
    model: str
    operation: str = strawberry.field(description="e.g. chat, embeddings.")
    user_id: str | None = strawberry.field(description="The end user the call served.")
    session_id: str | None = strawberry.field(
        description="The conversation it belongs to."
    )
    tags: list[str]
    metadata: JSON = strawberry.field(
        description="Flat map of string, number and boolean values."
    )
    prompt: str | None = strawberry.field(
        description="Prompt text, capped at the project's limit; null when text storage is off."
    )
    response: str | None = strawberry.field(
        description="Response text, capped like prompt."
    )
    prompt_truncated: bool
    response_truncated: bool
    prompt_tokens: int | None = strawberry.field(description="Inclusive input tokens.")
    completion_tokens: int | None = strawberry.field(
        description="Inclusive output tokens."
    )
    total_tokens: int | None
    cached_prompt_tokens: int | None = strawberry.field(
        description="Input tokens read from the provider's cache (part of promptTokens)."
    )
    cache_write_tokens: int | None = strawberry.field(
        description="Input tokens written to the provider's cache (part of promptTokens)."
    )
    reasoning_tokens: int | None = strawberry.field(
        description="Output tokens spent on reasoning (part of completionTokens)."
    )
    duration_ms: float | None = strawberry.field(description="Latency in milliseconds.")
    time_to_first_token_ms: float | None = strawberry.field(
        description="Milliseconds until the first streamed token."
    )
    streaming: bool
    status: CallStatus
    status_code: int | None = strawberry.field(
        description="HTTP status from the provider."
    )
    error: CallError | None
    cost_usd: float | None = strawberry.field(
        description="USD; null when no price is known for the model (never a silent 0)."
    )
    cost_source: CostSource
    price_version: str | None = strawberry.field(
        description="Which price table or custom price produced costUsd."
    )

    @classmethod
    def from_document(cls, log: documents.Log) -> "Log":
        error = log.error
        return cls(
            id=strawberry.ID(log.call_id),
            timestamp=log.timestamp,
            received_at=log.received_at,
            environment=log.environment,
            provider=log.provider,
            model=log.model,
            operation=log.operation,
            user_id=log.user_id,
            session_id=log.session_id,
            tags=log.tags,
            metadata=JSON(log.metadata),
            prompt=log.prompt,
            response=log.response,
            prompt_truncated=log.prompt_truncated,
            response_truncated=log.response_truncated,
            prompt_tokens=log.prompt_tokens,
            completion_tokens=log.completion_tokens,
            total_tokens=log.total_tokens,
            cached_prompt_tokens=log.cached_prompt_tokens,
            cache_write_tokens=log.cache_write_tokens,
            reasoning_tokens=log.reasoning_tokens,
            duration_ms=log.duration_ms,
            time_to_first_token_ms=log.time_to_first_token_ms,
            streaming=log.streaming,
            status=CallStatus(log.status),
            status_code=log.status_code,
            error=CallError(type=error.type, message=error.message) if error else None,
            cost_usd=log.cost_usd,
            cost_source=CostSource(log.cost_source),
            price_version=log.price_version,
        )


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as pagination.after to get the next page."
    )


@strawberry.type(description="A page of calls, newest first.")
class LogPage:
    items: list[Log]
    total_count: int = strawberry.field(
        description="Calls matching the filter, all pages."
    )
    page_info: PageInfo
