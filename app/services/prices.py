"""A project's custom prices, and the models whose calls could not be priced."""

from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from app.documents import Log, Project
from app.documents.price import CustomPrice
from app.errors import InvalidInput, NotFound
from app.pipelines.cost import UnpricedModelRow, unpriced_models_pipeline
from app.services.calls import LogFilter, forget_ingest_rules, log_query
from app.services.pricing import canonical_provider
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)

MAX_CUSTOM_PRICES = 200
_MAX_UNPRICED_ROWS = 200
_MAX_PATTERN_CHARS = 256


def custom_price(**fields: Any) -> CustomPrice:
    """Build a `CustomPrice` in its stored form, or raise `InvalidInput`.

    The model pattern is trimmed and lower-cased and the provider reduced to its
    canonical id, because matching ignores case and aliases: two prices that
    match the same calls are the same price.
    """
    pattern = str(fields.get("model_pattern") or "").strip().lower()
    if len(pattern) > _MAX_PATTERN_CHARS:
        message = f"modelPattern is {len(pattern)} characters long; the limit is {_MAX_PATTERN_CHARS}"
        raise InvalidInput(message, field="modelPattern")
    provider = fields.get("provider")
    fields["model_pattern"] = pattern
    fields["provider"] = canonical_provider(provider) if provider else None
    try:
        return CustomPrice(**fields)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        name = to_camel(str(first["loc"][0])) if first["loc"] else "input"
        message = f"{name}: {first['msg']}"
        raise InvalidInput(message, field=name) from None


def _identity(price: CustomPrice) -> dict[str, Any]:
    return {
        "model_pattern": price.model_pattern,
        "provider": price.provider,
        "effective_from": price.effective_from,
    }


async def list_custom_prices(project_id: str) -> list[CustomPrice]:
    """The project's custom prices, by model pattern then effective date."""
    with store_errors("list_custom_prices"):
        project = await Project.get(project_id)
    if project is None:
        raise NotFound(f"project {project_id!r} no longer exists")
    return sorted(
        project.custom_prices,
        key=lambda price: (
            price.model_pattern,
            price.provider or "",
            price.effective_from,
        ),
    )


async def set_custom_price(project_id: str, price: CustomPrice) -> CustomPrice:
    """Add `price`, replacing the one with the same pattern, provider and start.

    New calls use it at once; stored calls keep their cost until `repriceLogs`.
    """
    existing = await list_custom_prices(project_id)
    replaces = any(_identity(other) == _identity(price) for other in existing)
    if not replaces and len(existing) >= MAX_CUSTOM_PRICES:
        message = (
            f"the project has {MAX_CUSTOM_PRICES} custom prices, the most it can "
            "hold; delete unused ones or use a model pattern that covers several"
        )
        raise InvalidInput(message, field="modelPattern")

    identity = _identity(price)
    others = {
        "$filter": {
            "input": {"$ifNull": ["$custom_prices", []]},
            "as": "price",
            # Keep every price that differs from the new one in any identity field.
            "cond": {
                "$or": [
                    {"$ne": [f"$$price.{name}", {"$literal": value}]}
                    for name, value in identity.items()
                ]
            },
        }
    }
    # One pipeline update replaces atomically: no moment without the price.
    # Values are `$literal` so a pattern starting with "$" is not a field path.
    with store_errors("set_custom_price"):
        await Project.get_pymongo_collection().update_one(
            {"_id": project_id},
            [
                {
                    "$set": {
                        "custom_prices": {
                            "$concatArrays": [
                                others,
                                [{"$literal": price.model_dump()}],
                            ]
                        }
                    }
                }
            ],
        )
    forget_ingest_rules(project_id)
    log.info(
        "custom_price.set",
        project_id=project_id,
        model_pattern=price.model_pattern,
        replaced=replaces,
    )
    return price


async def delete_custom_price(
    project_id: str,
    *,
    model_pattern: str,
    provider: str | None,
    effective_from: datetime,
) -> bool:
    """Remove one custom price; False when the project has no such price."""
    key = custom_price(
        model_pattern=model_pattern,
        provider=provider,
        effective_from=effective_from,
        input_per_mtok=0,
        output_per_mtok=0,
    )
    with store_errors("delete_custom_price"):
        identity = _identity(key)
        result = await Project.get_pymongo_collection().update_one(
            {"_id": project_id, "custom_prices": {"$elemMatch": identity}},
            {"$pull": {"custom_prices": identity}},
        )
    deleted = result.matched_count == 1
    forget_ingest_rules(project_id)
    if deleted:
        log.info(
            "custom_price.deleted",
            project_id=project_id,
            model_pattern=key.model_pattern,
        )
    return deleted


async def unpriced_models(
    project_id: str, log_filter: LogFilter
) -> list[UnpricedModelRow]:
    """Provider and model pairs with unpriced calls matching the filter, most first."""
    pipeline = unpriced_models_pipeline(
        log_query(project_id, log_filter), limit=_MAX_UNPRICED_ROWS
    )
    with store_errors("unpriced_models"):
        rows = await Log.get_pymongo_collection().aggregate(pipeline)
        return [UnpricedModelRow.model_validate(row) async for row in rows]
