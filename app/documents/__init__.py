"""Beanie documents, one per collection."""

from app.documents.log import CallError, Log, log_key
from app.documents.project import ApiKey, Project, ProjectSettings
from app.documents.session import Session, session_key

ALL_DOCUMENTS = [Log, Session, Project]

__all__ = [
    "ALL_DOCUMENTS",
    "ApiKey",
    "CallError",
    "Log",
    "Project",
    "ProjectSettings",
    "Session",
    "log_key",
    "session_key",
]
