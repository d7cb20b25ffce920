from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import pytest
from genai_prices import Usage, calc_price
from genai_prices.data import providers
from genai_prices.types import ModelPrice, TieredPrices

from app.documents.price import CustomPrice
from app.services.pricing import (
    PriceResult,
    canonical_provider,
    price_call,
    price_table_version,
)

WHEN = datetime(2025, 9, 1, 12, tzinfo=UTC)


def price(
    provider: str = "openai",
    model: str = "gpt-4o",
    *,
    timestamp: datetime = WHEN,
    prompt: int | None = None,
    completion: int | None = None,
    cached: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
    reported_cost_usd: float | None = None,
    custom_prices: list[CustomPrice] | None = None,
) -> PriceResult:
    return price_call(
        provider=provider,
        model=model,
        timestamp=timestamp,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_prompt_tokens=cached,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        reported_cost_usd=reported_cost_usd,
        custom_prices=custom_prices or [],
    )


def genai_cost(
    provider_id: str,
    model: str,
    *,
    timestamp: datetime = WHEN,
    prompt: int,
    completion: int,
    cached: int = 0,
    cache_write: int = 0,
    reasoning: int = 0,
) -> float:
    usage = Usage(
        input_tokens=prompt,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=completion,
        output_reasoning_tokens=reasoning,
    )
    calculation = calc_price(
        usage, model, provider_id=provider_id, genai_request_timestamp=timestamp
    )
    return float(calculation.total_price)


def table_rate(provider_id: str, model: str, price_key: str) -> float:
    """A per-million-token rate as the table lists it at `WHEN`."""
    calculation = calc_price(
        Usage(), model, provider_id=provider_id, genai_request_timestamp=WHEN
    )
    rate = getattr(calculation.model_price, price_key)
    assert isinstance(rate, Decimal)
    return float(rate)


def custom(
    pattern: str,
    *,
    effective_from: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    provider: str | None = None,
    input_per_mtok: float = 1.0,
    output_per_mtok: float = 2.0,
) -> CustomPrice:
    return CustomPrice(
        model_pattern=pattern,
        provider=provider,
        effective_from=effective_from,
        input_per_mtok=input_per_mtok,
        output_per_mtok=output_per_mtok,
    )


@pytest.mark.parametrize(
    ("provider", "provider_id", "model", "tokens"),
    [
        ("openai", "openai", "gpt-4o", (10_000, 1_000, 4_000, 0, 0)),
        ("openai", "openai", "gpt-4o-mini", (52_000, 3_100, 12_000, 0, 0)),
        ("openai", "openai", "o3", (8_000, 6_000, 2_000, 0, 4_500)),
        ("openai", "openai", "o1", (3_000, 9_000, 0, 0, 7_000)),
        (
            "anthropic",
            "anthropic",
            "claude-sonnet-4-20250514",
            (20_000, 900, 12_000, 5_000, 0),
        ),
        ("gemini", "google", "gemini-2.5-flash", (30_000, 2_000, 10_000, 0, 1_200)),
        ("azure_openai", "azure", "gpt-4o", (10_000, 1_000, 4_000, 0, 0)),
        (
            "aws.bedrock",
            "aws",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            (7_000, 700, 0, 0, 0),
        ),
    ],
)
def test_table_costs_match_genai_prices_for_real_models(
    provider: str,
    provider_id: str,
    model: str,
    tokens: tuple[int, int, int, int, int],
) -> None:
    prompt, completion, cached, cache_write, reasoning = tokens
    expected = genai_cost(
        provider_id,
        model,
        prompt=prompt,
        completion=completion,
        cached=cached,
        cache_write=cache_write,
        reasoning=reasoning,
    )

    result = price(
        provider,
        model,
        prompt=prompt,
        completion=completion,
        cached=cached,
        cache_write=cache_write,
        reasoning=reasoning,
    )

    assert result.cost_source == "price_table"
    assert result.cost_usd == pytest.approx(expected, rel=1e-12)
    assert expected > 0
    assert result.price_version is not None
    assert result.price_version.startswith(price_table_version())


def test_gpt_4o_cost_matches_hand_arithmetic_from_list_prices() -> None:
    # gpt-4o lists $2.50 input, $1.25 cached input and $10 output per million.
    result = price(prompt=10_000, cached=4_000, completion=1_000)

    expected = (6_000 * 2.50 + 4_000 * 1.25 + 1_000 * 10.0) / 1_000_000
    assert result.cost_usd == pytest.approx(expected, rel=1e-12)


def test_claude_cache_reads_and_writes_are_charged_at_their_own_rates() -> None:
    model = "claude-sonnet-4-20250514"
    input_rate = table_rate("anthropic", model, "input_mtok")
    read_rate = table_rate("anthropic", model, "cache_read_mtok")
    write_rate = table_rate("anthropic", model, "cache_write_mtok")
    output_rate = table_rate("anthropic", model, "output_mtok")
    assert read_rate < input_rate < write_rate

    result = price(
        "anthropic",
        model,
        prompt=20_000,
        cached=12_000,
        cache_write=5_000,
        completion=900,
    )

    micro_usd = (
        3_000 * input_rate + 12_000 * read_rate + 5_000 * write_rate + 900 * output_rate
    )
    assert result.cost_usd == pytest.approx(micro_usd / 1_000_000, rel=1e-12)


def test_cached_tokens_are_part_of_the_prompt_and_not_charged_twice() -> None:
    input_rate = table_rate("openai", "gpt-4o", "input_mtok")
    cached_rate = table_rate("openai", "gpt-4o", "cache_read_mtok")

    uncached = price(prompt=1_000, completion=0)
    mostly_cached = price(prompt=1_000, cached=800, completion=0)

    assert uncached.cost_usd == pytest.approx(1_000 * input_rate / 1_000_000)
    assert mostly_cached.cost_usd == pytest.approx(
        (200 * input_rate + 800 * cached_rate) / 1_000_000
    )


def test_reasoning_tokens_are_charged_as_part_of_the_output() -> None:
    with_breakdown = price(
        "openai", "o3", prompt=1_000, completion=2_000, reasoning=1_500
    )
    without_breakdown = price("openai", "o3", prompt=1_000, completion=2_000)

    micro_usd = 1_000 * table_rate("openai", "o3", "input_mtok") + 2_000 * table_rate(
        "openai", "o3", "output_mtok"
    )
    assert with_breakdown.cost_usd == pytest.approx(micro_usd / 1_000_000, rel=1e-12)
    assert with_breakdown.cost_usd == without_breakdown.cost_usd


def test_reasoning_tokens_use_their_own_rate_where_the_table_lists_one() -> None:
    model = "sonar-deep-research"
    output_rate = table_rate("perplexity", model, "output_mtok")
    reasoning_rate = table_rate("perplexity", model, "output_reasoning_mtok")
    assert reasoning_rate != output_rate

    result = price("perplexity", model, prompt=0, completion=1_000, reasoning=400)

    micro_usd = 600 * output_rate + 400 * reasoning_rate
    assert result.cost_usd == pytest.approx(micro_usd / 1_000_000, rel=1e-12)


def test_table_price_follows_the_call_timestamp() -> None:
    # OpenAI cut o3 from $10/$40 to $2/$8 per million on 2025-06-10.
    before = price(
        "openai",
        "o3",
        timestamp=datetime(2025, 6, 9, tzinfo=UTC),
        prompt=1_000_000,
        completion=0,
    )
    after = price(
        "openai",
        "o3",
        timestamp=datetime(2025, 6, 10, tzinfo=UTC),
        prompt=1_000_000,
        completion=0,
    )

    assert before.cost_usd == pytest.approx(10.0)
    assert after.cost_usd == pytest.approx(2.0)
    assert after.price_version == f"{price_table_version()} openai/o3@2025-06-10"


def test_prompts_past_a_price_tier_are_charged_the_tier_rate() -> None:
    calculation = calc_price(
        Usage(), "gemini-2.5-pro", provider_id="google", genai_request_timestamp=WHEN
    )
    input_prices = calculation.model_price.input_mtok
    assert isinstance(input_prices, TieredPrices)
    tier = input_prices.tiers[0]
    expected = genai_cost("google", "gemini-2.5-pro", prompt=300_000, completion=0)

    below = price("google", "gemini-2.5-pro", prompt=tier.start, completion=0)
    above = price("google", "gemini-2.5-pro", prompt=300_000, completion=0)

    assert tier.start < 300_000
    assert below.cost_usd == pytest.approx(tier.start * float(input_prices.base) / 1e6)
    assert above.cost_usd == pytest.approx(300_000 * float(tier.price) / 1e6)
    assert above.cost_usd == pytest.approx(expected, rel=1e-12)


def test_every_table_model_is_priced_as_genai_prices_prices_it() -> None:
    compared = 0

    for provider in providers:
        for model in provider.models:
            try:
                expected = genai_cost(
                    provider.id,
                    model.id,
                    prompt=12_345,
                    completion=3_210,
                    cached=2_000,
                    cache_write=1_000,
                    reasoning=1_000,
                )
            except LookupError:
                continue  # a few table ids do not match their own patterns
            result = price(
                provider.id,
                model.id,
                prompt=12_345,
                completion=3_210,
                cached=2_000,
                cache_write=1_000,
                reasoning=1_000,
            )
            if result.cost_usd is None:
                # Only models the table prices by audio time, pages or characters.
                assert expected == 0, f"{provider.id}/{model.id}"
                continue
            assert result.cost_usd == pytest.approx(expected, rel=1e-12), model.id
            compared += 1

    assert compared > 1_000


def test_models_priced_only_by_audio_duration_are_unpriced_not_free() -> None:
    result = price("groq", "whisper-large-v3", prompt=1_000, completion=10)

    assert result == PriceResult(None, "unpriced", None)


def test_free_models_in_the_table_cost_zero() -> None:
    result = price("mistral", "mistral-nemo:free", prompt=1_000, completion=10)

    assert result.cost_usd == 0.0
    assert result.cost_source == "price_table"


def test_reported_cost_is_kept_as_reported() -> None:
    paid = price(prompt=1_000, completion=10, reported_cost_usd=0.5)
    free = price(
        prompt=1_000,
        completion=10,
        reported_cost_usd=0.0,
        custom_prices=[custom("gpt-4o")],
    )

    assert paid == PriceResult(0.5, "reported", None)
    assert free == PriceResult(0.0, "reported", None)


def test_unknown_model_is_unpriced_not_free() -> None:
    result = price("openai", "no-such-model-7", prompt=1_000, completion=10)

    assert result == PriceResult(None, "unpriced", None)


def test_known_provider_does_not_borrow_another_providers_model() -> None:
    result = price("openai", "claude-3-5-sonnet", prompt=1_000, completion=10)

    assert result.cost_usd is None


def test_call_without_token_counts_is_unpriced() -> None:
    result = price(custom_prices=[custom("gpt-4o")])

    assert result == PriceResult(None, "unpriced", None)


def test_missing_totals_are_taken_as_the_sum_of_their_parts() -> None:
    result = price(cached=1_000)

    expected = genai_cost("openai", "gpt-4o", prompt=1_000, completion=0, cached=1_000)
    assert result.cost_usd == pytest.approx(expected, rel=1e-12)


def test_unknown_provider_is_priced_by_model_name_alone() -> None:
    direct = price("openai", "gpt-4o", prompt=1_000, completion=100)

    via_gateway = price("my-gateway", "gpt-4o", prompt=1_000, completion=100)
    prefixed = price("my-gateway", "openai/gpt-4o", prompt=1_000, completion=100)

    assert via_gateway == direct
    assert prefixed == direct


@pytest.mark.parametrize(
    ("sent", "provider_id"),
    [
        ("OpenAI", "openai"),
        ("gemini", "google"),
        ("vertex_ai", "google"),
        ("gcp.vertex_ai", "google"),
        ("bedrock", "aws"),
        ("aws.bedrock", "aws"),
        ("az.ai.openai", "azure"),
        ("mistral_ai", "mistral"),
        ("xai", "x-ai"),
        ("together_ai", "together"),
    ],
)
def test_provider_aliases_map_to_genai_prices_ids(sent: str, provider_id: str) -> None:
    assert canonical_provider(sent) == provider_id


def test_gemini_alias_is_priced_like_google() -> None:
    assert price("gemini", "gemini-2.5-flash", prompt=1_000, completion=10) == price(
        "google", "gemini-2.5-flash", prompt=1_000, completion=10
    )


def test_custom_price_overrides_the_table() -> None:
    result = price(
        prompt=1_000_000,
        completion=1_000_000,
        custom_prices=[custom("gpt-4o", input_per_mtok=1.0, output_per_mtok=3.0)],
    )

    assert result == PriceResult(4.0, "custom", "custom:gpt-4o@2025-01-01")


def test_custom_price_applies_to_models_the_table_does_not_know() -> None:
    result = price(
        "self-hosted",
        "our-llama-ft",
        prompt=2_000_000,
        completion=0,
        custom_prices=[custom("our-*")],
    )

    assert result.cost_usd == pytest.approx(2.0)
    assert result.cost_source == "custom"


def test_custom_price_charges_cached_writes_and_reasoning_at_their_own_rates() -> None:
    special = CustomPrice(
        model_pattern="gpt-4o",
        effective_from=datetime(2025, 1, 1, tzinfo=UTC),
        input_per_mtok=2.0,
        output_per_mtok=8.0,
        cached_input_per_mtok=0.5,
        cache_write_per_mtok=3.0,
        reasoning_per_mtok=4.0,
    )

    result = price(
        prompt=10_000,
        cached=4_000,
        cache_write=1_000,
        completion=3_000,
        reasoning=1_000,
        custom_prices=[special],
    )

    micro_usd = 5_000 * 2.0 + 4_000 * 0.5 + 1_000 * 3.0 + 2_000 * 8.0 + 1_000 * 4.0
    assert result.cost_usd == pytest.approx(micro_usd / 1_000_000)


def test_custom_price_without_part_rates_charges_parts_at_base_rates() -> None:
    result = price(
        prompt=10_000,
        cached=4_000,
        cache_write=1_000,
        completion=3_000,
        reasoning=1_000,
        custom_prices=[custom("gpt-4o", input_per_mtok=2.0, output_per_mtok=8.0)],
    )

    assert result.cost_usd == pytest.approx((10_000 * 2.0 + 3_000 * 8.0) / 1_000_000)


def test_custom_exact_model_name_beats_a_newer_pattern() -> None:
    prices = [
        custom("gpt-4o", input_per_mtok=1.0),
        custom(
            "gpt-4o*",
            effective_from=datetime(2025, 6, 1, tzinfo=UTC),
            input_per_mtok=5.0,
        ),
    ]

    exact = price(prompt=1_000_000, completion=0, custom_prices=prices)
    dated = price(
        model="gpt-4o-2024-08-06", prompt=1_000_000, completion=0, custom_prices=prices
    )

    assert exact.cost_usd == pytest.approx(1.0)
    assert dated.cost_usd == pytest.approx(5.0)
    assert dated.price_version == "custom:gpt-4o*@2025-06-01"


def test_latest_custom_price_in_force_at_the_call_wins() -> None:
    prices = [
        custom(
            "gpt-4o",
            effective_from=datetime(2025, 1, 1, tzinfo=UTC),
            input_per_mtok=1.0,
        ),
        custom(
            "gpt-4o",
            effective_from=datetime(2025, 8, 1, tzinfo=UTC),
            input_per_mtok=3.0,
        ),
        custom(
            "gpt-4o",
            effective_from=datetime(2025, 4, 1, tzinfo=UTC),
            input_per_mtok=2.0,
        ),
    ]

    in_may = price(
        timestamp=datetime(2025, 5, 1, tzinfo=UTC),
        prompt=1_000_000,
        completion=0,
        custom_prices=prices,
    )
    in_september = price(prompt=1_000_000, completion=0, custom_prices=prices)

    assert in_may.cost_usd == pytest.approx(2.0)
    assert in_september.cost_usd == pytest.approx(3.0)


def test_custom_price_effective_in_the_future_does_not_apply() -> None:
    future = custom("gpt-4o", effective_from=datetime(2025, 9, 1, 12, 0, 1, tzinfo=UTC))

    result = price(prompt=1_000, completion=10, custom_prices=[future])

    assert result == price(prompt=1_000, completion=10)
    assert result.cost_source == "price_table"


def test_custom_price_for_another_provider_does_not_apply() -> None:
    azure_only = custom("gpt-4o", provider="azure")

    openai_call = price(
        "openai", prompt=1_000, completion=10, custom_prices=[azure_only]
    )
    azure_call = price(
        "az.ai.openai", prompt=1_000, completion=10, custom_prices=[azure_only]
    )

    assert openai_call.cost_source == "price_table"
    assert azure_call.cost_source == "custom"


def test_custom_prices_read_naive_datetimes_as_utc() -> None:
    naive = custom("gpt-4o", effective_from=datetime(2025, 9, 1, 13))  # noqa: DTZ001

    assert naive.effective_from == datetime(2025, 9, 1, 13, tzinfo=UTC)
    assert price(prompt=1_000, completion=10, custom_prices=[naive]).cost_source == (
        "price_table"
    )


def test_parts_larger_than_totals_do_not_raise() -> None:
    result = price(prompt=100, cached=500, completion=10)

    assert result.cost_source in ("price_table", "unpriced")


def test_repeat_calls_do_not_recompute_prices_with_genai_prices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = price("openai", "o3", prompt=5_000, cached=1_000, completion=700)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("pricing went through genai-prices again")

    monkeypatch.setattr(ModelPrice, "calc_price", fail)
    again = price("openai", "o3", prompt=5_000, cached=1_000, completion=700)

    assert again == first


def test_price_table_version_names_the_genai_prices_release() -> None:
    assert price_table_version() == f"genai-prices {genai_prices.__version__}"
