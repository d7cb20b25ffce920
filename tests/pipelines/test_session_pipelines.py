"""The session and user pipelines, stage by stage, without a database."""

from datetime import UTC, datetime

from app.pipelines.sessions import session_stats
from app.pipelines.users import session_counts, user_usage

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 8, tzinfo=UTC)


def test_session_stats_match_first_then_measure_then_group_once() -> None:
    match = {"project_id": "p", "error_count": {"$gt": 0}}

    stages = session_stats(match)

    assert [next(iter(stage)) for stage in stages] == ["$match", "$project", "$group"]
    assert stages[0] == {"$match": match}
    project = stages[1]["$project"]
    assert project["m_wall_duration_ms"] == {
        "$subtract": ["$last_activity_at", "$started_at"]
    }
    assert project["m_error_rate"]["$cond"][2] is None  # no calls: left out
    group = stages[2]["$group"]
    assert group["_id"] is None
    assert group["count"] == {"$sum": 1}
    assert group["cost_usd_pct"] == {
        "$percentile": {
            "input": "$m_cost_usd",
            "p": [0.5, 0.9, 0.99],
            "method": "approximate",
        }
    }
    assert group["sum_message_cost_usd"] == {"$sum": "$message_cost_usd"}


def test_user_usage_reads_only_the_projects_calls_in_the_range() -> None:
    stages = user_usage("p", start=START, end=END, order_by="cost_usd", limit=5)

    assert stages[0] == {
        "$match": {
            "project_id": "p",
            "timestamp": {"$gte": START, "$lt": END},
            "user_id": {"$ne": None},
        }
    }
    assert stages[1]["$group"]["_id"] == "$user_id"
    assert stages[1]["$group"]["error_count"] == {
        "$sum": {"$cond": [{"$eq": ["$status", "error"]}, 1, 0]}
    }
    assert stages[2:] == [{"$sort": {"cost_usd": -1, "_id": 1}}, {"$limit": 5}]


def test_user_usage_without_a_ranking_groups_every_user() -> None:
    stages = user_usage("p", start=START, end=END)

    assert [next(iter(stage)) for stage in stages] == ["$match", "$group"]


def test_session_counts_go_through_the_user_index() -> None:
    assert session_counts("p", ["a", "b"]) == [
        {"$match": {"project_id": "p", "user_id": {"$in": ["a", "b"]}}},
        {"$group": {"_id": "$user_id", "sessions": {"$sum": 1}}},
    ]
