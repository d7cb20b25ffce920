"""A project's own prices, which override the price table for matching models."""

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CustomPrice(BaseModel):
    """A project's own price for a model, in USD per million tokens."""

    model_config = ConfigDict(frozen=True)

    model_pattern: str = Field(min_length=1)
    """An exact model name, or a glob such as `gpt-4o*` (case-insensitive)."""
    provider: str | None = None
    """Only calls from this provider (aliases allowed); None matches any."""
    effective_from: datetime
    """UTC; a naive value is read as UTC."""
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    """Cache reads; None charges them at the input price."""
    cache_write_per_mtok: float | None = Field(default=None, ge=0)
    """None charges cache writes at the input price."""
    reasoning_per_mtok: float | None = Field(default=None, ge=0)
    """None charges reasoning tokens at the output price."""

    @field_validator("effective_from")
    @classmethod
    def _effective_from_in_utc(cls, value: datetime) -> datetime:
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )

    @property
    def is_pattern(self) -> bool:
        """Whether `model_pattern` is a glob rather than one model name."""
        return any(char in self.model_pattern for char in "*?[")
