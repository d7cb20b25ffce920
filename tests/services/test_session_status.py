"""Active, abandoned or completed: decided from the clock, the same way everywhere."""

from datetime import UTC, datetime, timedelta

from app.documents import Session
from app.services.session_filters import SessionFilter, session_query
from app.services.session_status import (
    effective_status,
    status_condition,
    with_effective_status,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=30)


def session(status: str, idle_minutes: float) -> Session:
    last = NOW - timedelta(minutes=idle_minutes)
    # model_construct: a plain value, no collection needed for these rules.
    built: Session = Session.model_construct(
        id="p:s",
        session_id="s",
        project_id="p",
        status=status,
        started_at=last - timedelta(minutes=5),
        last_activity_at=last,
        ended_at=None,
    )
    return built


def test_the_clock_decides_between_active_and_abandoned() -> None:
    assert effective_status(session("active", 29), now=NOW, timeout=TIMEOUT) == "active"
    assert effective_status(session("active", 30), now=NOW, timeout=TIMEOUT) == "active"
    assert (
        effective_status(session("active", 31), now=NOW, timeout=TIMEOUT) == "abandoned"
    )
    # A stored ABANDONED with fresh activity (a call raced the sweep) is active.
    assert (
        effective_status(session("abandoned", 1), now=NOW, timeout=TIMEOUT) == "active"
    )
    assert (
        effective_status(session("completed", 300), now=NOW, timeout=TIMEOUT)
        == "completed"
    )


def test_an_abandoned_session_ends_at_its_last_activity() -> None:
    idle = session("active", 45)

    shown = with_effective_status(idle, now=NOW, timeout=TIMEOUT)

    assert (shown.status, shown.ended_at) == ("abandoned", idle.last_activity_at)
    assert idle.status == "active"  # the stored document is not changed


def test_status_filters_become_last_activity_conditions() -> None:
    cutoff = NOW - TIMEOUT

    assert status_condition(["active"], now=NOW, timeout=TIMEOUT) == {
        "status": {"$ne": "completed"},
        "last_activity_at": {"$gte": cutoff},
    }
    assert status_condition(["completed", "abandoned"], now=NOW, timeout=TIMEOUT) == {
        "$or": [
            {"status": {"$ne": "completed"}, "last_activity_at": {"$lt": cutoff}},
            {"status": "completed"},
        ]
    }


def test_a_session_query_always_leads_with_the_project() -> None:
    query = session_query(
        "p",
        SessionFilter(user_id="u", statuses=("active",), min_cost_usd=1.0),
        now=NOW,
        timeout=TIMEOUT,
    )

    assert next(iter(query)) == "project_id"
    assert query["project_id"] == "p"
    assert {"user_id": "u"} in query["$and"]
    assert {"cost_usd": {"$gte": 1.0}} in query["$and"]
    assert session_query("p", SessionFilter(), now=NOW, timeout=TIMEOUT) == {
        "project_id": "p"
    }
