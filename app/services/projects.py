"""Projects: create, rename, configure and delete tenants, and who may do so."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from beanie import Document, SortDirection
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.documents import ALL_DOCUMENTS, Project
from app.documents.project import (
    MAX_SESSION_TIMEOUT_MINUTES,
    MIN_SESSION_TIMEOUT_MINUTES,
)
from app.errors import Conflict, InvalidInput, NotFound
from app.services.calls import forget_ingest_rules
from app.services.keys import Caller, IssuedKey, KeyVerifier, ServerAdmin, issue_key
from app.services.store_errors import read_limit_ms, store_errors

log = structlog.get_logger(__name__)

# Lowercase letters, digits and inner hyphens: safe in URLs, file names and
# the `"<project>:<id>"` document ids (no colon).
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
MAX_PROJECT_NAME_CHARS = 100
MAX_PROJECTS_LISTED = 1000


def managed_project_id(caller: Caller, requested: str | None) -> str:
    """The project a management operation acts on.

    A project admin key acts on its own project only; naming another one
    answers exactly like a project that does not exist. The server admin
    token may act on any project and must name it.
    """
    if isinstance(caller, ServerAdmin):
        if requested is None:
            message = "the server admin token acts on a named project: pass project"
            raise InvalidInput(message, field="project")
        return requested
    caller.require("admin")
    if requested is not None and requested != caller.project_id:
        raise NotFound(f"there is no project {requested!r}", field="project")
    return caller.project_id


def _slug(slug: str) -> str:
    if not _SLUG.match(slug):
        message = (
            "slug must be 1 to 40 lowercase letters, digits or inner hyphens, "
            "e.g. 'support-bot'"
        )
        raise InvalidInput(message, field="slug")
    return slug


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_PROJECT_NAME_CHARS:
        message = f"name must be 1 to {MAX_PROJECT_NAME_CHARS} characters"
        raise InvalidInput(message, field="name")
    return name


@dataclass(frozen=True, slots=True)
class CreatedProject:
    """A new project and its first admin key (the only time its secret shows)."""

    project: Project
    admin_key: IssuedKey


async def create_project(slug: str, name: str) -> CreatedProject:
    """Create a project with one admin key; a taken slug is a `Conflict`."""
    now = datetime.now(UTC)
    admin_key = issue_key("admin", ["admin", "read", "ingest"], now=now)
    project = Project(
        _id=_slug(slug), name=_name(name), created_at=now, api_keys=[admin_key.api_key]
    )
    with store_errors("create_project"):
        try:
            await project.insert()
        except DuplicateKeyError:
            message = f"a project with slug {slug!r} already exists; choose another"
            raise Conflict(message, field="slug") from None
    log.info("project.created", project_id=slug)
    return CreatedProject(project=project, admin_key=admin_key)


async def get_project(project_id: str) -> Project:
    """The project, or `NotFound` (also while it is being deleted)."""
    with store_errors("load_project"):
        project = await Project.find_one({"_id": project_id, "deleting_since": None})
    if project is None:
        raise NotFound(f"there is no project {project_id!r}", field="project")
    return project


async def list_projects() -> list[Project]:
    """Every project by slug (at most `MAX_PROJECTS_LISTED`)."""
    with store_errors("list_projects"):
        return (
            await Project.find({"deleting_since": None}, max_time_ms=read_limit_ms())
            .sort([("_id", SortDirection.ASCENDING)])
            .limit(MAX_PROJECTS_LISTED)
            .to_list()
        )


async def _update(project_id: str, changes: dict[str, object]) -> Project:
    with store_errors("update_project"):
        raw = await Project.get_pymongo_collection().find_one_and_update(
            {"_id": project_id, "deleting_since": None},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
    if raw is None:
        raise NotFound(f"there is no project {project_id!r}", field="project")
    project: Project = Project.model_validate(raw)
    return project


async def rename_project(project_id: str, name: str) -> Project:
    """Give the project a new display name; its slug (id) never changes."""
    project = await _update(project_id, {"name": _name(name)})
    log.info("project.renamed", project_id=project_id)
    return project


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """The settings to change; None leaves a value as it is."""

    session_timeout_minutes: int | None = None
    store_text: bool | None = None
    max_text_chars: int | None = None


async def update_project_settings(
    project_id: str, change: SettingsChange, *, max_text_chars_cap: int
) -> Project:
    """Validate and apply `change`; the text cap may not exceed the server's."""
    changes: dict[str, object] = {}
    timeout = change.session_timeout_minutes
    if timeout is not None:
        if not MIN_SESSION_TIMEOUT_MINUTES <= timeout <= MAX_SESSION_TIMEOUT_MINUTES:
            message = (
                f"sessionTimeoutMinutes must be between {MIN_SESSION_TIMEOUT_MINUTES} "
                f"and {MAX_SESSION_TIMEOUT_MINUTES} (7 days), got {timeout}"
            )
            raise InvalidInput(message, field="sessionTimeoutMinutes")
        changes["settings.session_timeout_minutes"] = timeout
    if change.max_text_chars is not None:
        if not 0 <= change.max_text_chars <= max_text_chars_cap:
            message = (
                f"maxTextChars must be between 0 and the server's limit "
                f"{max_text_chars_cap}, got {change.max_text_chars}"
            )
            raise InvalidInput(message, field="maxTextChars")
        changes["settings.max_text_chars"] = change.max_text_chars
    if change.store_text is not None:
        changes["settings.store_text"] = change.store_text
    if not changes:
        return await get_project(project_id)

    project = await _update(project_id, changes)
    forget_ingest_rules(project_id)
    log.info("project.settings_changed", project_id=project_id, fields=sorted(changes))
    return project


@dataclass(frozen=True, slots=True)
class DeletedProject:
    """What deleting a project removed, per collection."""

    project_id: str
    deleted_documents: dict[str, int]


def _per_project_documents() -> list[type[Document]]:
    return [document for document in ALL_DOCUMENTS if document is not Project]


async def delete_project(project_id: str, verifier: KeyVerifier) -> DeletedProject:
    """Delete the project and every document of it, in every collection.

    The project is marked first, so its keys stop working and it cannot be
    re-created while its data is still being removed; if the store fails
    half-way, deleting again finishes the job.
    """
    with store_errors("delete_project"):
        marked = await Project.get_pymongo_collection().update_one(
            {"_id": project_id, "deleting_since": None},
            {"$set": {"deleting_since": datetime.now(UTC)}},
        )
        if marked.matched_count == 0 and await Project.get(project_id) is None:
            raise NotFound(f"there is no project {project_id!r}", field="project")
    verifier.invalidate()
    forget_ingest_rules(project_id)

    deleted: dict[str, int] = {}
    with store_errors("delete_project"):
        for document in _per_project_documents():
            collection = document.get_pymongo_collection()
            result = await collection.delete_many({"project_id": project_id})
            deleted[collection.name] = result.deleted_count
        await Project.get_pymongo_collection().delete_one({"_id": project_id})
    log.info("project.deleted", project_id=project_id, **deleted)
    return DeletedProject(project_id=project_id, deleted_documents=deleted)
