"""A project: the tenant every key, call and session belongs to."""

from datetime import datetime
from typing import Literal

import pymongo
from beanie import Document
from pydantic import BaseModel, Field

from app.documents.price import CustomPrice

Scope = Literal["ingest", "read", "admin"]


class ApiKey(BaseModel):
    """An API key as stored: never the secret, only its SHA-256 and hints."""

    key_id: str
    name: str
    prefix: str
    last_four: str
    key_hash: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ProjectSettings(BaseModel):
    """Per-project behaviour that an admin can change."""

    session_timeout_minutes: int = 30
    store_text: bool = True
    max_text_chars: int = 32_000


class Project(Document):
    """A tenant, stored in `projects`; `_id` is the project's slug."""

    id: str = Field(alias="_id")  # type: ignore[assignment]  # Beanie types id as PydanticObjectId
    name: str
    created_at: datetime
    settings: ProjectSettings = Field(default_factory=ProjectSettings)
    api_keys: list[ApiKey] = Field(default_factory=list)
    custom_prices: list[CustomPrice] = Field(default_factory=list)
    # Set while a `repriceLogs` run holds the project, so two never overlap; a
    # crashed run's lease simply expires.
    reprice_lease_until: datetime | None = None

    class Settings:
        name = "projects"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("api_keys.key_hash", 1)], name="api_key_hash"),
        ]
