"""Projects: GraphQL arguments in, service call, output types out."""

import strawberry

from app.errors import NotFound
from app.schema.inputs.project import CreateProjectInput, ProjectSettingsInput
from app.schema.types.project import (
    CreateApiKeyPayload,
    CreateProjectPayload,
    DeleteProjectPayload,
    Project,
)
from app.services import projects
from app.services.keys import ServerAdmin
from app.services.projects import managed_project_id


def _project_arg(project: strawberry.ID | None) -> str | None:
    return str(project) if project is not None else None


async def project(
    info: strawberry.Info, id: strawberry.ID | None = None
) -> Project | None:
    caller = info.context.authenticated
    if isinstance(caller, ServerAdmin):
        project_id = managed_project_id(caller, _project_arg(id))
    else:
        project_id = caller.project_id
        if id is not None and str(id) != project_id:
            return None
    try:
        return Project.from_document(await projects.get_project(project_id))
    except NotFound:
        return None


async def projects_(info: strawberry.Info) -> list[Project]:
    return [Project.from_document(row) for row in await projects.list_projects()]


async def create_project(
    info: strawberry.Info, input: CreateProjectInput
) -> CreateProjectPayload:
    created = await projects.create_project(input.slug, input.name)
    return CreateProjectPayload(
        project=Project.from_document(created.project),
        admin_key=CreateApiKeyPayload.from_issued(created.admin_key),
    )


async def rename_project(
    info: strawberry.Info, name: str, project: strawberry.ID | None = None
) -> Project:
    project_id = managed_project_id(info.context.authenticated, _project_arg(project))
    return Project.from_document(await projects.rename_project(project_id, name))


async def update_project_settings(
    info: strawberry.Info,
    input: ProjectSettingsInput,
    project: strawberry.ID | None = None,
) -> Project:
    context = info.context
    project_id = managed_project_id(context.authenticated, _project_arg(project))
    updated = await projects.update_project_settings(
        project_id,
        input.to_change(),
        max_text_chars_cap=context.settings.max_text_chars,
    )
    return Project.from_document(updated)


async def delete_project(
    info: strawberry.Info, project: strawberry.ID
) -> DeleteProjectPayload:
    context = info.context
    project_id = managed_project_id(context.authenticated, str(project))
    deleted = await projects.delete_project(project_id, context.verifier)
    return DeleteProjectPayload.from_result(deleted)
