"""Inputs for managing projects and keys."""

import strawberry

from app.schema.types.project import ApiKeyScope
from app.services.projects import SettingsChange


@strawberry.input(description="A new project. Needs the server admin token.")
class CreateProjectInput:
    slug: str = strawberry.field(
        description="The project's id: 1-40 lowercase letters, digits, inner hyphens."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="What the key is for, e.g. 'prod ingest'.")
    scopes: list[ApiKeyScope] = strawberry.field(
        description="At least one. Give SDKs INGEST only, dashboards READ only."
    )
    project: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only with the server admin token; project keys use their own.",
    )


@strawberry.input(description="Settings to change; omitted fields keep their value.")
class ProjectSettingsInput:
    session_timeout_minutes: int | None = strawberry.field(
        default=None, description="1 to 10080 (7 days)."
    )
    store_text: bool | None = strawberry.field(
        default=None, description="false: prompt and response text is not stored."
    )
    max_text_chars: int | None = strawberry.field(
        default=None, description="0 up to the server's LLMD_MAX_TEXT_CHARS."
    )

    def to_change(self) -> SettingsChange:
        return SettingsChange(
            session_timeout_minutes=self.session_timeout_minutes,
            store_text=self.store_text,
            max_text_chars=self.max_text_chars,
        )
