"""Settings: sensible defaults, and a clear refusal of values that cannot work."""

from typing import Any

import pytest
from pydantic import ValidationError

from app.settings import Settings
from tests.service import run_cli, service_env


def test_defaults_bound_every_limit_and_close_cors_outside_development() -> None:
    settings = Settings(environment="production")

    assert settings.max_query_depth == 12
    assert settings.max_aliases == 30
    assert settings.max_query_tokens == 5000
    assert settings.max_body_bytes == 4 * 1024 * 1024
    assert settings.operation_timeout_s == 30
    assert settings.store_read_timeout_ms == 20_000
    assert settings.rate_limit_per_s == 50
    assert settings.rate_limit_burst == 100
    assert settings.admin_token is None
    assert settings.allowed_origins == []
    assert Settings(environment="development").allowed_origins == ["*"]


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("max_query_depth", 0),
        ("max_aliases", -1),
        ("max_body_bytes", 10),
        ("operation_timeout_s", 0),
        ("rate_limit_per_s", -5),
        ("rate_limit_burst", 0),
        ("admin_token", "too-short"),
        ("cors_origins", ["dashboard.example.com"]),
        ("shutdown_drain_s", -1),
    ],
)
def test_a_value_that_cannot_work_is_refused(field: str, bad: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({field: bad})

    assert field in str(refused.value)


async def test_the_service_refuses_to_start_with_a_bad_setting(tmp_path: Any) -> None:
    env = service_env(tmp_path, max_aliases="-3", admin_token="short")

    code, _, err = await run_cli("serve", env=env)

    assert code == 2
    assert "invalid configuration" in err
    assert "LLMD_MAX_ALIASES" in err
    assert "LLMD_ADMIN_TOKEN must be at least 32 characters" in err
    assert "Traceback" not in err


def test_env_example_documents_every_setting() -> None:
    from tests.service import REPO

    documented = (REPO / ".env.example").read_text()

    missing = [
        f"LLMD_{name.upper()}"
        for name in Settings.model_fields
        if f"LLMD_{name.upper()}" not in documented
    ]
    assert missing == []
