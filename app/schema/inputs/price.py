"""Inputs for a project's custom prices."""

from datetime import datetime

import strawberry

from app.documents.price import CustomPrice
from app.errors import InvalidInput
from app.schema.inputs.log import utc_or_none
from app.services.prices import custom_price


def _effective_from(value: datetime) -> datetime:
    moment = utc_or_none(value, "effectiveFrom")
    if moment is None:  # pragma: no cover - the schema makes it non-null
        raise InvalidInput("effectiveFrom is required", field="effectiveFrom")
    return moment


@strawberry.input(
    description=(
        "A price of your own for a model, in USD per million tokens; it overrides "
        "the price table for the project's calls from effectiveFrom on. Token "
        "parts follow the inclusive ledger: cached and cache-write tokens are "
        "charged at their own rates and the rest of promptTokens at inputPerMtok; "
        "reasoning tokens at reasoningPerMtok and the rest of completionTokens at "
        "outputPerMtok."
    )
)
class CustomPriceInput:
    model_pattern: str = strawberry.field(
        description=(
            "An exact model name, or a glob such as gpt-4o* (case-insensitive). "
            "An exact name wins over any pattern."
        )
    )
    input_per_mtok: float
    output_per_mtok: float
    effective_from: datetime = strawberry.field(
        description=(
            "From when the price applies, with a time zone. Setting a price with "
            "the same modelPattern, provider and effectiveFrom replaces it."
        )
    )
    provider: str | None = strawberry.field(
        default=None, description="Only calls of this provider; null matches any."
    )
    cached_input_per_mtok: float | None = strawberry.field(
        default=None, description="Cache reads; null charges them at inputPerMtok."
    )
    cache_write_per_mtok: float | None = strawberry.field(
        default=None, description="Cache writes; null charges them at inputPerMtok."
    )
    reasoning_per_mtok: float | None = strawberry.field(
        default=None, description="Null charges reasoning tokens at outputPerMtok."
    )

    def to_price(self) -> CustomPrice:
        return custom_price(
            model_pattern=self.model_pattern,
            provider=self.provider,
            effective_from=_effective_from(self.effective_from),
            input_per_mtok=self.input_per_mtok,
            output_per_mtok=self.output_per_mtok,
            cached_input_per_mtok=self.cached_input_per_mtok,
            cache_write_per_mtok=self.cache_write_per_mtok,
            reasoning_per_mtok=self.reasoning_per_mtok,
        )


@strawberry.input(
    description="Which custom price to delete: its three identifying fields."
)
class CustomPriceKeyInput:
    model_pattern: str
    effective_from: datetime
    provider: str | None = None

    def effective_from_utc(self) -> datetime:
        return _effective_from(self.effective_from)
