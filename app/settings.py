"""Service configuration, read once from the environment (prefix `LLMD_`)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
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
    # Server-side limit on reads (`maxTimeMS`): an expensive query is stopped
    # by the store instead of running on after its client gave up.
    store_read_timeout_ms: int = Field(default=20_000, ge=100, le=600_000)

    # Live feeds across processes: Redis pub/sub when set, in-process otherwise.
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LLMD_REDIS_URL", "REDIS_URL")
    )
    broker_timeout_s: float = Field(default=2.0, gt=0, le=60)

    # HTTP server.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Browser origins allowed to call the API (CORS and WebSocket handshakes).
    # None: every origin in development, none elsewhere.
    cors_origins: list[str] | None = None
    # After SIGTERM: /readyz answers 503 for this long while requests are still
    # served, so a load balancer stops routing here before the socket closes.
    shutdown_drain_s: float = Field(default=5.0, ge=0, le=300)
    # In-flight requests get this long to finish once the socket is closed.
    shutdown_grace_s: float = Field(default=20.0, ge=0, le=600)
    metrics_enabled: bool = True

    # Server administration: this token (32+ characters) may create and delete
    # projects and manage any project's keys. Unset: only project admin keys.
    admin_token: SecretStr | None = None

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
    # Live feeds: open WebSockets per key (per process), how often an open
    # socket's key is checked again (a revoked key loses its feed within this
    # plus key_cache_ttl_s), the largest client message, and the calls one
    # project's live usage window keeps in memory.
    max_connections_per_key: int = Field(default=20, ge=1)
    ws_key_recheck_s: float = Field(default=5.0, gt=0, le=300)
    max_ws_message_bytes: int = Field(default=256 * 1024, ge=1024)
    usage_window_max_calls: int = Field(default=200_000, ge=100)
    # A GraphQL operation over HTTP that runs longer is cancelled (504, TIMEOUT).
    operation_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # Requests per second per API key (token bucket); 0 turns the limit off.
    rate_limit_per_s: float = Field(default=50.0, ge=0)
    # How many requests a key may send at once before the rate applies.
    rate_limit_burst: int = Field(default=100, ge=1)

    @field_validator("admin_token")
    @classmethod
    def _admin_token_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            message = (
                "LLMD_ADMIN_TOKEN must be at least 32 characters; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
            raise ValueError(message)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_urls(cls, value: list[str] | None) -> list[str] | None:
        for origin in value or ():
            if origin != "*" and not origin.startswith(("http://", "https://")):
                message = (
                    f"LLMD_CORS_ORIGINS entry {origin!r} must be '*' or an origin "
                    "such as https://dashboard.example.com"
                )
                raise ValueError(message)
        return value

    # Sessions past their project's inactivity timeout read as ABANDONED at once;
    # this sweep also stores the status and publishes it. 0 turns the sweep off.
    session_sweep_interval_s: float = Field(default=60.0, ge=0)
    # A batch whose request failed after storing its calls and was not retried
    # this long after it started is counted by the same sweep. Keep it well
    # above `operation_timeout_s`, so that no request is still counting it.
    uncounted_batch_after_s: float = Field(default=300.0, ge=60)
    # Analytics. True answers every usage question from raw calls instead of
    # roll-ups: same numbers, much slower; for benchmarks and checks only.
    usage_force_raw: bool = False
    # Roll-ups each process keeps in memory between requests, reused while
    # their day is unchanged (see app/services/rollup_cache.py); 0 keeps none.
    rollup_cache_documents: int = Field(default=20_000, ge=0)

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_embedded_store(self) -> bool:
        return self.mongodb_uri is None

    @property
    def allowed_origins(self) -> list[str]:
        """The CORS origins in force: the setting, or the environment's default."""
        if self.cors_origins is not None:
            return [origin.rstrip("/") for origin in self.cors_origins]
        return ["*"] if self.is_development else []


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
