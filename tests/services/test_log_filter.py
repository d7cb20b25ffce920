"""`log_matches` (live events) agrees with `log_query` (stored calls) on every field."""

from typing import Any

import pytest

from app.documents import CallError, Log
from app.services.calls import LogFilter, log_matches, log_query
from tests.usage_reference import CALLS, RANGE_END, RANGE_START, Call, select


def as_log(call: Call) -> Log:
    error = CallError(type=call.error_type) if call.error_type else None
    log: Log = Log.model_construct(
        id=f"p:{call.id}",
        call_id=call.id,
        project_id="p",
        timestamp=call.timestamp,
        provider=call.provider,
        model=call.model,
        environment=call.environment,
        user_id=call.user,
        session_id=call.session,
        status="error" if call.is_error else "success",
        status_code=call.status_code,
        error=error,
        tags=list(call.tags),
        metadata=call.metadata,
        cost_usd=call.cost,
        cost_source="reported" if call.cost is not None else "unpriced",
    )
    return log


@pytest.mark.parametrize(
    ("log_filter", "narrowing"),
    [
        (LogFilter(models=("gpt-4o",)), {"models": ["gpt-4o"]}),
        (LogFilter(status_codes=(429,)), {"status_codes": [429]}),
        (LogFilter(error_types=("Timeout",)), {"error_types": ["Timeout"]}),
        (LogFilter(user_ids=("ann", "dee")), {"users": ["ann", "dee"]}),
        (LogFilter(user_id="ann", user_ids=("bob",)), {"users": []}),
        (LogFilter(session_id="s1"), {"sessions": ["s1"]}),
        (LogFilter(tags=("beta", "eu")), {"tags": ["beta", "eu"]}),
        (
            LogFilter(metadata=(("team", "ads"), ("team", "search"))),
            {"metadata": [("team", "ads"), ("team", "search")]},
        ),
        (LogFilter(metadata=(("tier", True),)), {"metadata": [("tier", "never")]}),
        (LogFilter(cost_sources=("unpriced",)), {"cost_sources": ["unpriced"]}),
        (
            LogFilter(start=RANGE_START, end=RANGE_END, environments=("staging",)),
            {"environments": ["staging"]},
        ),
    ],
)
def test_live_matching_selects_the_calls_the_reference_selects(
    log_filter: LogFilter, narrowing: dict[str, Any]
) -> None:
    matched = {call.id for call in CALLS if log_matches(log_filter, as_log(call))}

    assert matched == {call.id for call in select(CALLS, **narrowing)}


def test_log_query_spells_out_every_narrowing() -> None:
    log_filter = LogFilter(
        providers=("openai",),
        user_id="ann",
        user_ids=("ann", "bob"),
        status_codes=(429,),
        error_types=("Timeout",),
        tags=("beta",),
        metadata=(("team", "ads"),),
        cost_sources=("custom",),
    )

    assert log_query("p", log_filter) == {
        "project_id": "p",
        "provider": {"$in": ["openai"]},
        "status_code": {"$in": [429]},
        "cost_source": {"$in": ["custom"]},
        "user_id": {"$in": ["ann"]},
        "error.type": {"$in": ["Timeout"]},
        "tags": {"$all": ["beta"]},
        "metadata.team": {"$in": ["ads"]},
    }
