"""Inputs for recording and filtering calls."""

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON

from app.errors import InvalidInput
from app.schema.inputs.usage import CallNarrowingInput
from app.schema.types.log import CallStatus
from app.services.call_input import CallIn
from app.services.calls import LogFilter


@strawberry.input(
    description=(
        "One LLM call to record. Only provider and model are required. Token "
        "totals are inclusive (OpenTelemetry GenAI): cachedPromptTokens and "
        "cacheWriteTokens must fit inside promptTokens, reasoningTokens inside "
        "completionTokens; a missing totalTokens is computed."
    )
)
class LogCallInput:
    provider: str = strawberry.field(description="e.g. openai, anthropic, google.")
    model: str = strawberry.field(description="e.g. gpt-4o-mini.")
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Your call id (a UUID is fine). Sending the same id again returns the "
            "stored call and writes nothing, so retries are safe. Generated when omitted."
        ),
    )
    timestamp: datetime | None = strawberry.field(
        default=None, description="Call start with a time zone; defaults to now."
    )
    environment: str | None = strawberry.field(
        default=None, description="Defaults to production."
    )
    operation: str | None = strawberry.field(
        default=None, description="Defaults to chat."
    )
    user_id: str | None = None
    session_id: str | None = strawberry.field(
        default=None,
        description="Creates the session on first use and adds to its totals.",
    )
    tags: list[str] | None = None
    metadata: JSON | None = strawberry.field(
        default=None, description="Flat object of string, number and boolean values."
    )
    prompt: str | None = strawberry.field(
        default=None,
        description=(
            "Stored up to the project's text limit (then marked promptTruncated), "
            "or not at all when the project stores no text."
        ),
    )
    response: str | None = strawberry.field(
        default=None, description="Capped like prompt (responseTruncated)."
    )
    prompt_tokens: int | None = strawberry.field(
        default=None,
        description=(
            "Inclusive input total: cached and cache-write tokens are counted in it. "
            "Computed as totalTokens - completionTokens when omitted."
        ),
    )
    completion_tokens: int | None = strawberry.field(
        default=None,
        description=(
            "Inclusive output total: reasoning tokens are counted in it. Computed "
            "as totalTokens - promptTokens when omitted."
        ),
    )
    total_tokens: int | None = strawberry.field(
        default=None,
        description=(
            "Must equal promptTokens + completionTokens; computed when omitted. A "
            "mismatch is rejected with both numbers in the message."
        ),
    )
    cached_prompt_tokens: int | None = strawberry.field(
        default=None,
        description="Input tokens read from the provider's cache; part of promptTokens.",
    )
    cache_write_tokens: int | None = strawberry.field(
        default=None,
        description=(
            "Input tokens written to the provider's cache; part of promptTokens. "
            "With cachedPromptTokens it must not exceed promptTokens."
        ),
    )
    reasoning_tokens: int | None = strawberry.field(
        default=None,
        description="Output tokens spent on reasoning; must not exceed completionTokens.",
    )
    duration_ms: float | None = strawberry.field(
        default=None, description="Latency in milliseconds."
    )
    time_to_first_token_ms: float | None = None
    streaming: bool = False
    status: CallStatus | None = strawberry.field(
        default=None,
        description="Defaults to ERROR when an error or a 4xx/5xx code is sent.",
    )
    status_code: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    cost_usd: float | None = strawberry.field(
        default=None,
        description="Known cost in USD; otherwise the server prices the call.",
    )

    def to_call(self) -> CallIn:
        metadata: object = self.metadata if self.metadata is not None else {}
        if not isinstance(metadata, dict) or any(
            isinstance(value, (dict, list)) or value is None
            for value in metadata.values()
        ):
            message = (
                "metadata must be a flat object of string, number and boolean values"
            )
            raise InvalidInput(message, field="metadata")
        return CallIn(
            id=self.id,
            timestamp=self.timestamp,
            environment=self.environment,
            provider=self.provider,
            model=self.model,
            operation=self.operation,
            user_id=self.user_id,
            session_id=self.session_id,
            tags=self.tags or [],
            metadata=metadata,
            prompt=self.prompt,
            response=self.response,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens,
            cache_write_tokens=self.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens,
            duration_ms=self.duration_ms,
            time_to_first_token_ms=self.time_to_first_token_ms,
            streaming=self.streaming,
            status=self.status.value if self.status is not None else None,
            status_code=self.status_code,
            error_type=self.error_type,
            error_message=self.error_message,
            cost_usd=self.cost_usd,
        )


def utc_or_none(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        message = f"{field} needs a time zone, for example 2026-01-31T00:00:00Z"
        raise InvalidInput(message, field=field)
    return value.astimezone(UTC)


@strawberry.input(
    description=(
        "Narrows a list of calls. Every field is optional. The same narrowing as "
        "UsageFilterInput (lists match any of their values), plus userId and "
        "sessionId for a single user or session."
    )
)
class LogFilterInput(CallNarrowingInput):
    start: datetime | None = strawberry.field(default=None, description="Inclusive.")
    end: datetime | None = strawberry.field(default=None, description="Exclusive.")
    user_id: str | None = None
    session_id: str | None = None

    def to_filter(self) -> LogFilter:
        start = utc_or_none(self.start, "filter.start")
        end = utc_or_none(self.end, "filter.end")
        if start is not None and end is not None and start >= end:
            message = "filter.start must be before filter.end"
            raise InvalidInput(message, field="filter.start")
        narrowing = self.narrowing()
        return LogFilter(
            start=start,
            end=end,
            user_id=self.user_id,
            session_id=self.session_id,
            **narrowing,
        )
