"""Distributions and totals over the sessions a filter selects."""

from typing import Any

from app.pipelines import Pipeline

PERCENTILES = (0.5, 0.9, 0.99)

# Per-session measures: name -> expression over one session document.
SESSION_MEASURES: dict[str, Any] = {
    "messages": "$message_count",
    "calls": "$call_count",
    "cost_usd": "$cost_usd",
    "wall_duration_ms": {"$subtract": ["$last_activity_at", "$started_at"]},
    # Sessions without calls have no error rate (null is skipped by $avg and
    # $percentile), so they neither lower nor raise it.
    "error_rate": {
        "$cond": [
            {"$gt": ["$call_count", 0]},
            {"$divide": ["$error_count", "$call_count"]},
            None,
        ]
    },
}

SUMMED_FIELDS = (
    "call_count",
    "error_count",
    "message_count",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_prompt_tokens",
    "reasoning_tokens",
    "cost_usd",
    "duration_ms",
    "message_prompt_tokens",
    "message_completion_tokens",
    "message_cost_usd",
    "message_duration_ms",
)


def session_stats(match: dict[str, Any]) -> Pipeline:
    """One row: the count, each measure's average, percentiles and maximum, and totals.

    Percentiles use `$percentile` (MongoDB 7+): the smallest value with at
    least p of the sessions at or below it.
    """
    group: dict[str, Any] = {"_id": None, "count": {"$sum": 1}}
    for name in SESSION_MEASURES:
        group[f"{name}_avg"] = {"$avg": f"$m_{name}"}
        group[f"{name}_max"] = {"$max": f"$m_{name}"}
        group[f"{name}_pct"] = {
            "$percentile": {
                "input": f"$m_{name}",
                "p": list(PERCENTILES),
                "method": "approximate",
            }
        }
    for field in SUMMED_FIELDS:
        group[f"sum_{field}"] = {"$sum": f"${field}"}
    project: dict[str, Any] = {
        f"m_{name}": expression for name, expression in SESSION_MEASURES.items()
    }
    project.update({field: 1 for field in SUMMED_FIELDS})
    return [{"$match": match}, {"$project": project}, {"$group": group}]
