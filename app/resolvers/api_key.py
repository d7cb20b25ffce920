"""API keys: GraphQL arguments in, service call, output types out."""

from typing import cast

import strawberry

from app.documents.project import Scope
from app.schema.inputs.project import CreateApiKeyInput
from app.schema.types.project import ApiKey, CreateApiKeyPayload
from app.services import keys
from app.services.keys import ServerAdmin
from app.services.projects import managed_project_id


async def api_keys(
    info: strawberry.Info, project: strawberry.ID | None = None
) -> list[ApiKey]:
    project_id = managed_project_id(
        info.context.authenticated, str(project) if project is not None else None
    )
    return [ApiKey.from_document(row) for row in await keys.list_keys(project_id)]


async def create_api_key(
    info: strawberry.Info, input: CreateApiKeyInput
) -> CreateApiKeyPayload:
    project_id = managed_project_id(
        info.context.authenticated,
        str(input.project) if input.project is not None else None,
    )
    # The enum's values are the stored scope names (mypy sees enum_value objects).
    scopes = [cast(Scope, scope.value) for scope in input.scopes]
    issued = await keys.create_key(project_id, input.name, scopes)
    return CreateApiKeyPayload.from_issued(issued)


async def revoke_api_key(
    info: strawberry.Info, key_id: strawberry.ID, project: strawberry.ID | None = None
) -> ApiKey:
    context = info.context
    caller = context.authenticated
    project_id = managed_project_id(
        caller, str(project) if project is not None else None
    )
    revoked = await keys.revoke_key(
        project_id,
        str(key_id),
        context.verifier,
        keep_an_admin=not isinstance(caller, ServerAdmin),
    )
    return ApiKey.from_document(revoked)
