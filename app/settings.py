"""Service configuration, read once from the environment (prefix `LLMD_`)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix="LLMD_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "production", "test"] = "development"

    # Storage. No URI means: start the embedded store with its file in data_dir.
    mongodb_uri: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LLMD_MONGODB_URI", "MONGODB_URI")
    )
    database_name: str = "llm_dashboard"
    data_dir: Path = Path("data")
    store_timeout_ms: int = Field(default=3000, ge=100, le=60_000)

    # HTTP server.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # Logging: "console" for people, "json" for machines; "auto" picks by environment.
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Limits.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # A gzip body (Content-Encoding: gzip) may unpack to at most this much.
    max_decompressed_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_size: int = Field(default=1000, ge=1, le=10_000)
    max_text_chars: int = Field(default=32_000, ge=0)
    max_string_chars: int = Field(default=256, ge=16, le=4096)
    max_tags: int = Field(default=32, ge=0)
    max_metadata_keys: int = Field(default=64, ge=0)
    max_future_skew_s: int = Field(default=300, ge=0)
    max_reprice_calls: int = Field(default=100_000, ge=1)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_query_tokens: int = Field(default=5000, ge=100)
    key_cache_ttl_s: float = Field(default=10.0, ge=0)
    # How long a process ingests with a project's cached limits and custom prices.
    project_cache_ttl_s: float = Field(default=10.0, ge=0)
    subscriber_queue_size: int = Field(default=1000, ge=1)
    ws_init_timeout_s: float = Field(default=10.0, gt=0)
    max_subscriptions_per_connection: int = Field(default=20, ge=1)

    # Sessions past their project's inactivity timeout read as ABANDONED at once;
    # this sweep also stores the status and publishes it. 0 turns the sweep off.
    session_sweep_interval_s: float = Field(default=60.0, ge=0)
    # Analytics. True answers every usage question from raw calls instead of
    # roll-ups: same numbers, much slower; for benchmarks and checks only.
    usage_force_raw: bool = False

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def uses_embedded_store(self) -> bool:
        return self.mongodb_uri is None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
