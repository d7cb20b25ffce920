"""Custom prices, unpriced models and what a reprice changes."""

from datetime import datetime

import strawberry

from app.documents.price import CustomPrice as CustomPriceDocument
from app.pipelines.cost import UnpricedModelRow
from app.services.repricing import ModelRepricing as ModelRepricingResult
from app.services.repricing import RepriceReport as RepriceReportResult


@strawberry.type(
    description="A project's own price for a model, in USD per million tokens."
)
class CustomPrice:
    model_pattern: str = strawberry.field(
        description="Exact model name or glob, stored lower-cased."
    )
    provider: str | None = strawberry.field(
        description="Canonical provider id, or null for any provider."
    )
    effective_from: datetime = strawberry.field(description="UTC.")
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    cache_write_per_mtok: float | None
    reasoning_per_mtok: float | None

    @classmethod
    def from_document(cls, price: CustomPriceDocument) -> "CustomPrice":
        return cls(
            model_pattern=price.model_pattern,
            provider=price.provider,
            effective_from=price.effective_from,
            input_per_mtok=price.input_per_mtok,
            output_per_mtok=price.output_per_mtok,
            cached_input_per_mtok=price.cached_input_per_mtok,
            cache_write_per_mtok=price.cache_write_per_mtok,
            reasoning_per_mtok=price.reasoning_per_mtok,
        )


@strawberry.type(
    description=(
        "A provider and model whose calls got no price (costSource UNPRICED, "
        "costUsd null). Add a custom price, then repriceLogs."
    )
)
class UnpricedModel:
    provider: str
    model: str
    call_count: int = strawberry.field(description="Unpriced calls in the range.")
    first_seen: datetime = strawberry.field(description="Earliest such call (UTC).")
    last_seen: datetime = strawberry.field(description="Latest such call (UTC).")

    @classmethod
    def from_row(cls, row: UnpricedModelRow) -> "UnpricedModel":
        return cls(
            provider=row.provider,
            model=row.model,
            call_count=row.call_count,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
        )


@strawberry.type(description="What repricing changes for one provider and model.")
class ModelRepricing:
    provider: str
    model: str
    call_count: int = strawberry.field(description="Calls whose cost changes.")
    old_cost_usd: float = strawberry.field(
        description="Their total cost before, unpriced calls counted as 0."
    )
    new_cost_usd: float = strawberry.field(
        description="Their total cost after, unpriced calls counted as 0."
    )
    cost_delta_usd: float = strawberry.field(description="newCostUsd - oldCostUsd.")
    newly_priced_count: int = strawberry.field(
        description="Calls that were unpriced and now have a cost."
    )
    newly_unpriced_count: int = strawberry.field(
        description="Calls that had a cost and now have none."
    )

    @classmethod
    def from_result(cls, result: ModelRepricingResult) -> "ModelRepricing":
        return cls(
            provider=result.provider,
            model=result.model,
            call_count=result.call_count,
            old_cost_usd=result.old_cost_usd,
            new_cost_usd=result.new_cost_usd,
            cost_delta_usd=result.cost_delta_usd,
            newly_priced_count=result.newly_priced_count,
            newly_unpriced_count=result.newly_unpriced_count,
        )


@strawberry.type(
    description=(
        "The outcome of repriceLogs. For a dry run, what would change; nothing "
        "was written."
    )
)
class RepriceReport:
    dry_run: bool
    examined_count: int = strawberry.field(
        description="Calls matching the filter whose cost was not reported."
    )
    changed_count: int = strawberry.field(
        description="Calls whose cost, source or price version changes."
    )
    cost_delta_usd: float = strawberry.field(
        description="Change of the total cost of all calls examined."
    )
    models: list[ModelRepricing] = strawberry.field(
        description="Per provider and model, largest change first."
    )

    @classmethod
    def from_result(cls, report: RepriceReportResult) -> "RepriceReport":
        return cls(
            dry_run=report.dry_run,
            examined_count=report.examined_count,
            changed_count=report.changed_count,
            cost_delta_usd=report.cost_delta_usd,
            models=[ModelRepricing.from_result(model) for model in report.models],
        )
