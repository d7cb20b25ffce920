"""Beanie documents, one per collection."""

from app.documents.log import CallError, Log, log_key
from app.documents.project import ApiKey, Project, ProjectSettings
from app.documents.rollup import DailyUsageRollup, UsageRollup
from app.documents.session import Session, session_key

ALL_DOCUMENTS = [Log, Session, Project, UsageRollup, DailyUsageRollup]

__all__ = [
    "ALL_DOCUMENTS",
    "ApiKey",
    "CallError",
    "DailyUsageRollup",
    "Log",
    "Project",
    "ProjectSettings",
    "Session",
    "UsageRollup",
    "log_key",
    "session_key",
]
