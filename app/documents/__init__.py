"""Beanie documents, one per collection."""

from app.documents.log import CallError, Log, log_key
from app.documents.pending_totals import PendingTotals
from app.documents.project import ApiKey, Project, ProjectSettings
from app.documents.rollup import DailyUsageRollup, RollupVersions, UsageRollup
from app.documents.session import Session, session_key
from app.documents.session_message import SessionMessage, message_key
from app.documents.user import User, user_key

ALL_DOCUMENTS = [
    Log,
    Session,
    SessionMessage,
    User,
    Project,
    UsageRollup,
    DailyUsageRollup,
    PendingTotals,
    RollupVersions,
]

__all__ = [
    "ALL_DOCUMENTS",
    "ApiKey",
    "CallError",
    "DailyUsageRollup",
    "Log",
    "PendingTotals",
    "Project",
    "ProjectSettings",
    "RollupVersions",
    "Session",
    "SessionMessage",
    "UsageRollup",
    "User",
    "log_key",
    "message_key",
    "session_key",
    "user_key",
]
