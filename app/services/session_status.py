"""Whether a session is active, completed or abandoned, decided at read time.

A session is COMPLETED once a client completes it. Otherwise it is ACTIVE while
its last activity is within the project's inactivity timeout and ABANDONED
after. That second part depends on the clock, so it is computed on every read
and translated into a `last_activity_at` condition in every filter: no
background job is needed for a read to be right. The sweeper below only
persists the change (so the stored documents and the live feed catch up); new
activity on an abandoned session makes it active again, by the same rule.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import structlog

from app.documents import Project, Session
from app.documents.project import ProjectSettings
from app.documents.session import SessionStatus
from app.pubsub import Broker, SessionUpdated, sessions_topic
from app.services.store_errors import store_errors

log = structlog.get_logger(__name__)

_SWEEP_BATCH = 500


async def session_timeout(project_id: str) -> timedelta:
    """The project's inactivity timeout (its default when the project is gone)."""
    with store_errors("load_project"):
        project = await Project.get(project_id)
    minutes = (
        project.settings.session_timeout_minutes
        if project is not None
        else ProjectSettings().session_timeout_minutes
    )
    return timedelta(minutes=minutes)


def effective_status(
    session: Session, *, now: datetime, timeout: timedelta
) -> SessionStatus:
    """The status a reader sees: completed, or active/abandoned by the clock."""
    if session.status == "completed":
        return "completed"
    return "active" if session.last_activity_at >= now - timeout else "abandoned"


def with_effective_status(
    session: Session, *, now: datetime, timeout: timedelta
) -> Session:
    """`session` with its effective status; an abandoned one ends at its last activity."""
    status = effective_status(session, now=now, timeout=timeout)
    ended_at = session.ended_at if status == "completed" else None
    if status == "abandoned":
        ended_at = session.last_activity_at
    if status == session.status and ended_at == session.ended_at:
        return session
    current: Session = session.model_copy(
        update={"status": status, "ended_at": ended_at}
    )
    return current


def status_condition(
    statuses: Iterable[SessionStatus], *, now: datetime, timeout: timedelta
) -> dict[str, Any]:
    """The find condition for sessions whose effective status is one of `statuses`."""
    cutoff = now - timeout
    clauses: list[dict[str, Any]] = []
    for status in sorted(set(statuses)):
        if status == "completed":
            clauses.append({"status": "completed"})
        elif status == "active":
            clauses.append(
                {"status": {"$ne": "completed"}, "last_activity_at": {"$gte": cutoff}}
            )
        else:
            clauses.append(
                {"status": {"$ne": "completed"}, "last_activity_at": {"$lt": cutoff}}
            )
    if len(clauses) == 1:
        return clauses[0]
    return {"$or": clauses}


async def sweep_abandoned(broker: Broker, *, now: datetime) -> int:
    """Store ABANDONED on sessions past their project's timeout; publish each once.

    Each session is updated only if it is still stored as active with the same
    last activity, so a call arriving meanwhile wins and no event is repeated.
    Returns how many sessions were marked.
    """
    marked = 0
    with store_errors("sweep_abandoned"):
        projects = await Project.find_all().to_list()
    for project in projects:
        cutoff = now - timedelta(minutes=project.settings.session_timeout_minutes)
        with store_errors("sweep_abandoned"):
            stale = (
                await Session.find(
                    {
                        "project_id": project.id,
                        "status": "active",
                        "last_activity_at": {"$lt": cutoff},
                    }
                )
                .limit(_SWEEP_BATCH)
                .to_list()
            )
        for session in stale:
            with store_errors("sweep_abandoned"):
                result = await Session.get_pymongo_collection().update_one(
                    {
                        "_id": session.id,
                        "status": "active",
                        "last_activity_at": session.last_activity_at,
                    },
                    {"$set": {"status": "abandoned"}},
                )
            if result.modified_count:
                marked += 1
                abandoned = session.model_copy(
                    update={
                        "status": "abandoned",
                        "ended_at": session.last_activity_at,
                    }
                )
                await broker.publish(
                    sessions_topic(project.id),
                    SessionUpdated(project.id, abandoned, "abandoned"),
                )
    if marked:
        log.info("sessions.abandoned", count=marked)
    return marked
