"""Output types for projects and their API keys."""

from datetime import datetime
from enum import Enum

import strawberry

from app import documents
from app.services.keys import IssuedKey
from app.services.projects import DeletedProject


@strawberry.enum(description="What a key may do.")
class ApiKeyScope(Enum):
    INGEST = strawberry.enum_value("ingest", description="Record calls.")
    READ = strawberry.enum_value(
        "read", description="Query and subscribe to the project's data."
    )
    ADMIN = strawberry.enum_value(
        "admin", description="Rename, configure and delete the project; manage keys."
    )


@strawberry.type(description="Per-project behaviour an admin can change.")
class ProjectSettings:
    session_timeout_minutes: int = strawberry.field(
        description="A session with no activity for this long counts as ended."
    )
    store_text: bool = strawberry.field(
        description="Whether prompt and response text is stored (false: dropped)."
    )
    max_text_chars: int = strawberry.field(
        description="Longer prompts and responses are truncated to this many characters."
    )


@strawberry.type(description="A tenant: every key, call and session belongs to one.")
class Project:
    id: strawberry.ID = strawberry.field(description="The project's slug.")
    name: str
    created_at: datetime = strawberry.field(description="UTC.")
    settings: ProjectSettings

    @classmethod
    def from_document(cls, project: documents.Project) -> "Project":
        return cls(
            id=strawberry.ID(project.id),
            name=project.name,
            created_at=project.created_at,
            settings=ProjectSettings(
                session_timeout_minutes=project.settings.session_timeout_minutes,
                store_text=project.settings.store_text,
                max_text_chars=project.settings.max_text_chars,
            ),
        )


@strawberry.type(
    description=(
        "An API key as stored: its secret is never kept or shown again, only a "
        "prefix and the last four characters to recognise it."
    )
)
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id (not a secret).")
    name: str
    prefix: str = strawberry.field(description="The secret's first characters.")
    last_four: str = strawberry.field(description="The secret's last 4 characters.")
    scopes: list[ApiKeyScope]
    created_at: datetime = strawberry.field(description="UTC.")
    last_used_at: datetime | None = strawberry.field(
        description=(
            "Last successful use (UTC), updated at most every 5 minutes; null if "
            "never used."
        )
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (UTC); null while it works."
    )

    @classmethod
    def from_document(cls, api_key: documents.ApiKey) -> "ApiKey":
        return cls(
            id=strawberry.ID(api_key.key_id),
            name=api_key.name,
            prefix=api_key.prefix,
            last_four=api_key.last_four,
            scopes=[ApiKeyScope(scope) for scope in api_key.scopes],
            created_at=api_key.created_at,
            last_used_at=api_key.last_used_at,
            revoked_at=api_key.revoked_at,
        )


@strawberry.type(description="A new key. Copy the secret now: it is shown only once.")
class CreateApiKeyPayload:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="Send as 'Authorization: Bearer <secret>'. Shown only once."
    )

    @classmethod
    def from_issued(cls, issued: IssuedKey) -> "CreateApiKeyPayload":
        return cls(api_key=ApiKey.from_document(issued.api_key), secret=issued.secret)


@strawberry.type(description="A new project and its first admin key.")
class CreateProjectPayload:
    project: Project
    admin_key: CreateApiKeyPayload = strawberry.field(
        description="An admin key (admin, read, ingest) for the project; shown once."
    )


@strawberry.type(description="How many documents of one collection were deleted.")
class DeletedCollection:
    collection: str
    count: int


@strawberry.type(description="A deleted project and what was removed with it.")
class DeleteProjectPayload:
    id: strawberry.ID
    deleted: list[DeletedCollection]

    @classmethod
    def from_result(cls, result: DeletedProject) -> "DeleteProjectPayload":
        return cls(
            id=strawberry.ID(result.project_id),
            deleted=[
                DeletedCollection(collection=name, count=count)
                for name, count in sorted(result.deleted_documents.items())
            ],
        )
