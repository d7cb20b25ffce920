"""Price one LLM call: keep a reported cost, else a custom price, else the table.

Token contract (OpenTelemetry GenAI conventions, as stored on `Log`):
`prompt_tokens` and `completion_tokens` are inclusive totals.
`cached_prompt_tokens` (cache reads) and `cache_write_tokens` are parts of
`prompt_tokens`; `reasoning_tokens` is part of `completion_tokens`. So a call
with 1,000 prompt tokens of which 800 were read from the cache pays 200 tokens at
the input rate and 800 at the cached rate, never 1,000 + 800.

genai-prices uses the same shape: its `Usage.input_tokens` is the total that
includes `cache_read_tokens` and `cache_write_tokens`, and `output_tokens`
includes `output_reasoning_tokens`; it charges each part at its own rate and the
remainder at the base rate (see "Cached input tokens" in the genai-prices
README). The mapping is therefore one to one.

Order of precedence: a cost the client reported is kept as it is; otherwise the
project's custom price for the model applies; otherwise the genai-prices table
shipped in the package, at the call's timestamp (its prices are effective-dated).
A call that cannot be priced gets `cost_usd=None`, never a silent zero.

Pricing runs for every ingested call, so table lookups are cached: the
(provider, model) match, and for each table price the per-token rates read off
genai-prices itself, which turns a call into a handful of Decimal operations.
Prompts never reach this module.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import NamedTuple

from genai_prices import Usage
from genai_prices import __version__ as genai_prices_version
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import (
    ModelInfo,
    ModelPrice,
    Provider,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

from app.documents.log import CostSource
from app.documents.price import CustomPrice
from app.services.provider_names import canonical_provider

# A table price is usable here only if it charges for tokens: models priced
# solely per audio hour, page or character would otherwise come out as $0.
_TOKEN_PRICE_KEYS = frozenset({"input_mtok", "output_mtok"})
_PER_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class PriceResult:
    """The cost of one call and where it came from."""

    cost_usd: float | None
    cost_source: CostSource
    price_version: str | None


_UNPRICED = PriceResult(cost_usd=None, cost_source="unpriced", price_version=None)


def price_table_version() -> str:
    """Name the price table in use: the genai-prices release that ships it."""
    return f"genai-prices {genai_prices_version}"


def price_call(
    *,
    provider: str,
    model: str,
    timestamp: datetime,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cached_prompt_tokens: int | None,
    cache_write_tokens: int | None,
    reasoning_tokens: int | None,
    reported_cost_usd: float | None,
    custom_prices: Sequence[CustomPrice] = (),
) -> PriceResult:
    """Price one call; see the module docstring for the token contract and order.

    Token parts larger than their totals are for validation to reject; here they
    never raise, and at worst leave the call unpriced.
    """
    if reported_cost_usd is not None:
        return PriceResult(reported_cost_usd, "reported", None)

    tokens = _tokens(
        prompt_tokens,
        completion_tokens,
        cached_prompt_tokens,
        cache_write_tokens,
        reasoning_tokens,
    )
    if tokens is None:
        return _UNPRICED

    when = _as_utc(timestamp)
    custom = select_custom_price(custom_prices, provider=provider, model=model, at=when)
    if custom is not None:
        return PriceResult(
            _custom_cost(custom, tokens), "custom", _custom_version(custom)
        )

    return _table_price(provider, model, when, tokens)


def select_custom_price(
    custom_prices: Sequence[CustomPrice],
    *,
    provider: str,
    model: str,
    at: datetime,
) -> CustomPrice | None:
    """Pick the custom price in force for a model at a time, or None.

    Only prices whose model and provider match and whose `effective_from` is not
    after `at` count. An exact model name beats any pattern; among the rest the
    latest `effective_from` wins, then a provider-specific price over one for any
    provider.
    """
    model_name = model.lower()
    provider_id = canonical_provider(provider)
    exact: list[CustomPrice] = []
    patterns: list[CustomPrice] = []

    for price in custom_prices:
        if price.effective_from > at:
            continue
        if (
            price.provider is not None
            and canonical_provider(price.provider) != provider_id
        ):
            continue
        if not price.is_pattern and price.model_pattern.lower() == model_name:
            exact.append(price)
        elif price.is_pattern and fnmatchcase(model_name, price.model_pattern.lower()):
            patterns.append(price)

    candidates = exact or patterns
    if not candidates:
        return None
    return max(
        candidates, key=lambda price: (price.effective_from, price.provider is not None)
    )


class _Tokens(NamedTuple):
    input: int
    cache_read: int
    cache_write: int
    output: int
    reasoning: int


def _tokens(
    prompt: int | None,
    completion: int | None,
    cache_read: int | None,
    cache_write: int | None,
    reasoning: int | None,
) -> _Tokens | None:
    counts = (prompt, completion, cache_read, cache_write, reasoning)
    if all(count is None for count in counts):
        return None

    cache_read = cache_read or 0
    cache_write = cache_write or 0
    reasoning = reasoning or 0
    # A total the client left out is at least the sum of the parts it sent.
    prompt = cache_read + cache_write if prompt is None else prompt
    completion = reasoning if completion is None else completion
    return _Tokens(prompt, cache_read, cache_write, completion, reasoning)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _custom_cost(price: CustomPrice, tokens: _Tokens) -> float:
    input_rate = price.input_per_mtok
    output_rate = price.output_per_mtok
    cached_rate = price.cached_input_per_mtok
    write_rate = price.cache_write_per_mtok
    reasoning_rate = price.reasoning_per_mtok

    uncached = max(tokens.input - tokens.cache_read - tokens.cache_write, 0)
    plain_output = max(tokens.output - tokens.reasoning, 0)
    micro_usd = (
        uncached * input_rate
        + tokens.cache_read * (input_rate if cached_rate is None else cached_rate)
        + tokens.cache_write * (input_rate if write_rate is None else write_rate)
        + plain_output * output_rate
        + tokens.reasoning * (output_rate if reasoning_rate is None else reasoning_rate)
    )
    return micro_usd / _PER_MTOK


def _custom_version(price: CustomPrice) -> str:
    return f"custom:{price.model_pattern}@{price.effective_from.date().isoformat()}"


def _table_price(
    provider: str, model: str, when: datetime, tokens: _Tokens
) -> PriceResult:
    match = _find_table_model(provider, model)
    if match is None:
        return _UNPRICED

    table_provider, table_model = match
    model_price = table_model.get_prices(when)
    plan = _plan_for(table_provider, table_model, model_price)
    if plan is None:
        return _UNPRICED

    if plan.covers(tokens):
        cost = plan.cost(tokens)
    else:
        # Past a price tier, or parts larger than totals: let genai-prices decide.
        usage = Usage(
            input_tokens=tokens.input,
            cache_read_tokens=tokens.cache_read,
            cache_write_tokens=tokens.cache_write,
            output_tokens=tokens.output,
            output_reasoning_tokens=tokens.reasoning,
        )
        try:
            calculation = table_model.calc_price(
                usage, table_provider, genai_request_timestamp=when
            )
        except ValueError:
            return _UNPRICED
        cost = calculation.total_price

    return PriceResult(float(cost), "price_table", plan.price_version)


@lru_cache(maxsize=4096)
def _find_table_model(provider: str, model: str) -> tuple[Provider, ModelInfo] | None:
    """Match a call to a table model, or None; misses are cached too."""
    snapshot = get_snapshot()
    provider_id = canonical_provider(provider)
    if not model.strip():
        return None

    try:
        table_provider = snapshot.find_provider(None, provider_id, None)
    except LookupError:
        table_provider = None
    if table_provider is not None:
        table_model = table_provider.find_model(model, all_providers=snapshot.providers)
        return None if table_model is None else (table_provider, table_model)

    # Unknown provider (a gateway, a proxy, litellm): genai-prices' "litellm"
    # mode strips a "provider/" prefix naming a known provider, else guesses
    # the provider from the model name (data_snapshot.find_provider_model).
    try:
        return snapshot.find_provider_model(model, None, "litellm", None)
    except LookupError:
        return None


@dataclass(frozen=True, slots=True)
class _TablePlan:
    """One table price as USD per token, read off genai-prices by probing it."""

    per_call: Decimal
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal
    max_input_tokens: int | None
    """Larger prompts cross a price tier; None when the price has no tiers."""
    price_version: str

    def covers(self, tokens: _Tokens) -> bool:
        """Whether `cost` is exact for these tokens (no tier, parts within totals)."""
        within_tier = (
            self.max_input_tokens is None or tokens.input <= self.max_input_tokens
        )
        return (
            within_tier
            and tokens.cache_read + tokens.cache_write <= tokens.input
            and tokens.reasoning <= tokens.output
        )

    def cost(self, tokens: _Tokens) -> Decimal:
        """The price genai-prices computes, as a linear sum over token parts."""
        uncached = tokens.input - tokens.cache_read - tokens.cache_write
        plain_output = tokens.output - tokens.reasoning
        return (
            self.per_call
            + self.input * uncached
            + self.cache_read * tokens.cache_read
            + self.cache_write * tokens.cache_write
            + self.output * plain_output
            + self.reasoning * tokens.reasoning
        )


# Keyed by object identity (ModelPrice is not hashable); each value keeps its
# objects alive so an id is never reused. Bounded by the size of the table.
_plans: dict[tuple[int, int, int], tuple[object, _TablePlan | None]] = {}


def _plan_for(
    provider: Provider, model: ModelInfo, model_price: ModelPrice
) -> _TablePlan | None:
    key = (id(provider), id(model), id(model_price))
    entry = _plans.get(key)
    if entry is None:
        plan = _build_plan(provider, model, model_price)
        entry = _plans[key] = ((provider, model, model_price), plan)
    return entry[1]


def _build_plan(
    provider: Provider, model: ModelInfo, model_price: ModelPrice
) -> _TablePlan | None:
    """Read per-token rates from genai-prices by pricing one token of each part.

    Below the first tier the price is linear in each part, so one probe per part
    gives its rate with genai-prices' own rules (which parts it prices apart,
    what falls back to the base rate). None if it cannot price tokens at all.
    """
    prices = {
        key: value for key, value in vars(model_price).items() if value is not None
    }
    if prices and not prices.keys() & _TOKEN_PRICE_KEYS:
        return None

    tier_starts = [
        tier.start
        for value in prices.values()
        if isinstance(value, TieredPrices)
        for tier in value.tiers
    ]
    # A tier starting at zero would catch the one-token probes themselves.
    max_input_tokens = min(tier_starts, default=None)
    if max_input_tokens is not None and max_input_tokens < 1:
        max_input_tokens = -1

    def probe(**counts: int) -> Decimal:
        return model_price.calc_price(Usage(**counts))["total_price"]

    try:
        per_call = probe()
        plan = _TablePlan(
            per_call=per_call,
            input=probe(input_tokens=1) - per_call,
            cache_read=probe(input_tokens=1, cache_read_tokens=1) - per_call,
            cache_write=probe(input_tokens=1, cache_write_tokens=1) - per_call,
            output=probe(output_tokens=1) - per_call,
            reasoning=probe(output_tokens=1, output_reasoning_tokens=1) - per_call,
            max_input_tokens=max_input_tokens,
            price_version=_table_version(provider, model, model_price),
        )
    except ValueError:
        return None
    return plan


def _table_version(
    provider: Provider, model: ModelInfo, model_price: ModelPrice
) -> str:
    version = f"{price_table_version()} {provider.id}/{model.id}"
    if isinstance(model.prices, ModelPrice):
        return version

    for conditional in model.prices:
        if conditional.prices is not model_price:
            continue
        constraint = conditional.constraint
        if isinstance(constraint, StartDateConstraint):
            version += f"@{constraint.start_date.isoformat()}"
        elif isinstance(constraint, TimeOfDateConstraint):
            version += f"@{constraint.start_time:%H:%M}-{constraint.end_time:%H:%M}"
        break
    return version
