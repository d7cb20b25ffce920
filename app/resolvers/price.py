"""Custom prices, unpriced models and repricing: arguments in, types out."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import strawberry

from app.schema.inputs.log import LogFilterInput
from app.schema.inputs.price import CustomPriceInput, CustomPriceKeyInput
from app.schema.types.price import CustomPrice, RepriceReport, UnpricedModel
from app.services import prices, repricing
from app.services.calls import LogFilter

UNPRICED_DEFAULT_WINDOW = timedelta(days=30)


async def custom_prices(info: strawberry.Info) -> list[CustomPrice]:
    rows = await prices.list_custom_prices(info.context.caller.project_id)
    return [CustomPrice.from_document(row) for row in rows]


async def set_custom_price(
    info: strawberry.Info, input: CustomPriceInput
) -> CustomPrice:
    price = await prices.set_custom_price(
        info.context.caller.project_id, input.to_price()
    )
    return CustomPrice.from_document(price)


async def delete_custom_price(info: strawberry.Info, key: CustomPriceKeyInput) -> bool:
    return await prices.delete_custom_price(
        info.context.caller.project_id,
        model_pattern=key.model_pattern,
        provider=key.provider,
        effective_from=key.effective_from_utc(),
    )


async def unpriced_models(
    info: strawberry.Info, filter: LogFilterInput | None = None
) -> list[UnpricedModel]:
    log_filter = filter.to_filter() if filter is not None else LogFilter()
    if log_filter.start is None:
        end = log_filter.end or datetime.now(UTC)
        log_filter = replace(log_filter, start=end - UNPRICED_DEFAULT_WINDOW)
    rows = await prices.unpriced_models(info.context.caller.project_id, log_filter)
    return [UnpricedModel.from_row(row) for row in rows]


async def reprice_logs(
    info: strawberry.Info, filter: LogFilterInput | None = None, *, dry_run: bool
) -> RepriceReport:
    context = info.context
    report = await repricing.reprice_logs(
        context.caller.project_id,
        filter.to_filter() if filter is not None else LogFilter(),
        dry_run=dry_run,
        settings=context.settings,
    )
    return RepriceReport.from_result(report)
