"""Check one `CallIn` against the limits and turn it into a `Log` ready to store.

Every message names the field and says how to fix it; the first problem found is
raised as `InvalidInput` with `field` set to the input's camelCase name.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.documents import CallError, Log, log_key
from app.documents.log import MetadataValue, Status
from app.errors import InvalidInput
from app.services.call_input import CallIn

_MAX_ID_CHARS = 128
_MAX_METADATA_KEY_CHARS = 64
_MAX_METADATA_VALUE_CHARS = 1024
_MAX_ERROR_MESSAGE_CHARS = 2000
_STATUS_ALIASES: dict[str, Status] = {
    "success": "success",
    "ok": "success",
    "error": "error",
    "failed": "error",  # the origin SDK's word for a call that threw
}


@dataclass(frozen=True, slots=True)
class CallLimits:
    """The bounds a call is checked against (from settings and the project)."""

    max_string_chars: int
    max_text_chars: int
    max_tags: int
    max_metadata_keys: int
    max_future_skew: timedelta
    store_text: bool


def _text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        message = f"{field} is {len(value)} characters long; the limit is {limit}"
        raise InvalidInput(message, field=field)
    return value


def _required(value: str | None, field: str, limit: int, example: str) -> str:
    text = _text(value, field, limit)
    if text is None:
        message = f"{field} is required, for example {example!r}"
        raise InvalidInput(message, field=field)
    return text


def _non_negative(value: float | None, field: str) -> None:
    if value is not None and value < 0:
        message = f"{field} must be zero or more, got {value}"
        raise InvalidInput(message, field=field)


def to_millis(moment: datetime) -> datetime:
    """BSON dates keep milliseconds; trim first so a response equals what is stored."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _timestamp(call: CallIn, limits: CallLimits, now: datetime) -> datetime:
    if call.timestamp is None:
        return now
    if call.timestamp.tzinfo is None:
        message = "timestamp needs a time zone, for example 2026-01-31T12:00:00Z"
        raise InvalidInput(message, field="timestamp")
    timestamp = to_millis(call.timestamp.astimezone(UTC))
    if timestamp > now + limits.max_future_skew:
        seconds = int(limits.max_future_skew.total_seconds())
        message = (
            f"timestamp {timestamp.isoformat()} is more than {seconds} s in the "
            "future; check the sender's clock"
        )
        raise InvalidInput(message, field="timestamp")
    return timestamp


def _status(call: CallIn) -> Status:
    if call.status is None:
        failed = call.error_type or call.error_message
        return "error" if failed or (call.status_code or 0) >= 400 else "success"
    status = _STATUS_ALIASES.get(call.status.strip().lower())
    if status is None:
        message = f"status must be 'success' or 'error', got {call.status!r}"
        raise InvalidInput(message, field="status")
    return status


@dataclass(frozen=True, slots=True)
class TokenLedger:
    prompt: int | None
    completion: int | None
    total: int | None


def _tokens(call: CallIn) -> TokenLedger:
    """Apply the token contract: inclusive totals, parts inside them."""
    for field, value in (
        ("promptTokens", call.prompt_tokens),
        ("completionTokens", call.completion_tokens),
        ("totalTokens", call.total_tokens),
        ("cachedPromptTokens", call.cached_prompt_tokens),
        ("cacheWriteTokens", call.cache_write_tokens),
        ("reasoningTokens", call.reasoning_tokens),
    ):
        _non_negative(value, field)

    prompt, completion, total = (
        call.prompt_tokens,
        call.completion_tokens,
        call.total_tokens,
    )
    if prompt is None and total is not None and completion is not None:
        prompt = total - completion
    if completion is None and total is not None and prompt is not None:
        completion = total - prompt
    if prompt is not None and completion is not None:
        if total is None:
            total = prompt + completion
        elif total != prompt + completion:
            message = (
                f"totalTokens ({total}) must equal promptTokens ({prompt}) plus "
                f"completionTokens ({completion}); omit totalTokens to have it computed"
            )
            raise InvalidInput(message, field="totalTokens")
    if (prompt is not None and prompt < 0) or (
        completion is not None and completion < 0
    ):
        message = f"totalTokens ({total}) is smaller than its parts"
        raise InvalidInput(message, field="totalTokens")

    prompt_parts = (call.cached_prompt_tokens or 0) + (call.cache_write_tokens or 0)
    if prompt_parts and (prompt is None or prompt_parts > prompt):
        message = (
            f"cachedPromptTokens plus cacheWriteTokens ({prompt_parts}) exceed "
            f"promptTokens ({prompt}); promptTokens is the inclusive input total"
        )
        raise InvalidInput(message, field="cachedPromptTokens")
    reasoning = call.reasoning_tokens or 0
    if reasoning and (completion is None or reasoning > completion):
        message = (
            f"reasoningTokens ({reasoning}) exceed completionTokens ({completion}); "
            "completionTokens is the inclusive output total"
        )
        raise InvalidInput(message, field="reasoningTokens")
    return TokenLedger(prompt=prompt, completion=completion, total=total)


def _tags(tags: list[str], limits: CallLimits) -> list[str]:
    if len(tags) > limits.max_tags:
        message = f"{len(tags)} tags sent; the limit is {limits.max_tags}"
        raise InvalidInput(message, field="tags")
    cleaned: dict[str, None] = {}
    for tag in tags:
        text = _text(tag, "tags", limits.max_string_chars)
        if text is not None:
            cleaned[text] = None
    return list(cleaned)


def _metadata(
    metadata: dict[str, MetadataValue], limits: CallLimits
) -> dict[str, MetadataValue]:
    if len(metadata) > limits.max_metadata_keys:
        message = f"{len(metadata)} metadata keys sent; the limit is {limits.max_metadata_keys}"
        raise InvalidInput(message, field="metadata")
    for key, value in metadata.items():
        # MongoDB reads dots as paths and `$` as operators in field names.
        if not key or len(key) > _MAX_METADATA_KEY_CHARS or "." in key or key[0] == "$":
            message = (
                f"metadata key {key[:80]!r} is not allowed: use 1 to "
                f"{_MAX_METADATA_KEY_CHARS} characters without '.' or a leading '$'"
            )
            raise InvalidInput(message, field="metadata")
        if isinstance(value, str) and len(value) > _MAX_METADATA_VALUE_CHARS:
            message = (
                f"metadata value of {key!r} is {len(value)} characters; the limit "
                f"is {_MAX_METADATA_VALUE_CHARS}"
            )
            raise InvalidInput(message, field="metadata")
    return dict(metadata)


def _capped(text: str | None, limits: CallLimits) -> tuple[str | None, bool]:
    if text is None or not limits.store_text:
        return None, False
    if len(text) > limits.max_text_chars:
        return text[: limits.max_text_chars], True
    return text, False


def validate_call(
    call: CallIn, *, project_id: str, limits: CallLimits, now: datetime
) -> Log:
    """Return the `Log` to store for `call`, or raise `InvalidInput`."""
    now = to_millis(now)
    call_id = _text(call.id, "id", _MAX_ID_CHARS) or str(uuid.uuid4())
    limit = limits.max_string_chars
    provider = _required(call.provider, "provider", limit, "openai").lower()
    model = _required(call.model, "model", limit, "gpt-4o-mini")
    timestamp = _timestamp(call, limits, now)
    status = _status(call)
    tokens = _tokens(call)

    _non_negative(call.duration_ms, "durationMs")
    _non_negative(call.time_to_first_token_ms, "timeToFirstTokenMs")
    _non_negative(call.cost_usd, "costUsd")
    if call.status_code is not None and not 100 <= call.status_code <= 599:
        message = f"statusCode must be an HTTP status between 100 and 599, got {call.status_code}"
        raise InvalidInput(message, field="statusCode")

    error = None
    if call.error_type or call.error_message:
        error = CallError(
            type=_text(call.error_type, "errorType", limit),
            message=(call.error_message or "")[:_MAX_ERROR_MESSAGE_CHARS] or None,
        )
    prompt, prompt_truncated = _capped(call.prompt, limits)
    response, response_truncated = _capped(call.response, limits)

    return Log(
        _id=log_key(project_id, call_id),
        call_id=call_id,
        project_id=project_id,
        timestamp=timestamp,
        received_at=now,
        environment=_text(call.environment, "environment", limit) or "production",
        provider=provider,
        model=model,
        operation=_text(call.operation, "operation", limit) or "chat",
        user_id=_text(call.user_id, "userId", limit),
        session_id=_text(call.session_id, "sessionId", limit),
        tags=_tags(call.tags, limits),
        metadata=_metadata(call.metadata, limits),
        prompt=prompt,
        response=response,
        prompt_truncated=prompt_truncated,
        response_truncated=response_truncated,
        prompt_tokens=tokens.prompt,
        completion_tokens=tokens.completion,
        total_tokens=tokens.total,
        cached_prompt_tokens=call.cached_prompt_tokens,
        cache_write_tokens=call.cache_write_tokens,
        reasoning_tokens=call.reasoning_tokens,
        duration_ms=call.duration_ms,
        time_to_first_token_ms=call.time_to_first_token_ms,
        streaming=call.streaming,
        status=status,
        status_code=call.status_code,
        error=error,
        cost_usd=call.cost_usd,
        cost_source="reported" if call.cost_usd is not None else "unpriced",
    )
