"""The origin service's REST session routes, backed by the same services as GraphQL.

Shapes follow the origin (camelCase, `{success, session}` envelopes, its status
codes); errors use this service's coded body (`app.http.common.error_response`).
Differences, all additive or stricter: a message to an unknown session creates
it (the origin answered 404 and lost the message); single-session answers carry
up to 1,000 messages and `messagesTruncated`; list items and the answer to a new
message carry no `messages` array (read the session for them); every session
also carries its call totals (`callCount`, `errorCount`, `callCost`,
`callTokens`, `callDuration`), while `totalTokens`, `totalCost` and
`totalDuration` are message totals, as in the origin.
"""

from collections.abc import Awaitable, Callable
from typing import Any, cast

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.documents import Session, SessionMessage
from app.documents.project import Scope
from app.documents.session import SessionStatus
from app.errors import AppError, InvalidInput, NotFound
from app.http.common import caller, error_response
from app.http.origin_params import count, date_range, instant, moment
from app.services import session_messages, sessions
from app.services.session_filters import SessionFilter, sessions_by_offset
from app.services.session_input import MessageIn, SessionStartIn
from app.services.session_stats import session_statistics

log = structlog.get_logger(__name__)

MESSAGE_LIMIT = 1000
_DEFAULT_LIMIT = 50
_MAX_LIMIT = 1000
_STATUSES: tuple[SessionStatus, ...] = ("active", "completed", "abandoned")

type Handler = Callable[[Request, str], Awaitable[Response]]
type Endpoint = Callable[[Request], Awaitable[Response]]


def message_json(message: SessionMessage) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "timestamp": instant(message.timestamp),
        "role": message.role,
        "content": message.content,
        "promptTokens": message.prompt_tokens,
        "completionTokens": message.completion_tokens,
        "cost": message.cost_usd,
        "duration": message.duration_ms,
    }


def session_json(
    session: Session,
    messages: list[SessionMessage] | None = None,
    *,
    truncated: bool = False,
) -> dict[str, Any]:
    """The origin's session object; `messages` is left out when None."""
    body: dict[str, Any] = {
        "sessionId": session.session_id,
        "userId": session.user_id,
        "projectId": session.project_id,
        "provider": session.providers[0] if session.providers else None,
        "model": session.models[0] if session.models else None,
        "startTime": instant(session.started_at),
        "endTime": instant(session.ended_at),
        "lastActivity": instant(session.last_activity_at),
    }
    if messages is not None:
        body["messages"] = [message_json(message) for message in messages]
        body["messagesTruncated"] = truncated
    body |= {
        "totalTokens": session.message_prompt_tokens
        + session.message_completion_tokens,
        "totalCost": session.message_cost_usd,
        "totalDuration": session.message_duration_ms,
        "messageCount": session.message_count,
        "status": session.status,
        "metadata": session.metadata,
        "callCount": session.call_count,
        "errorCount": session.error_count,
        "callCost": session.cost_usd,
        "callTokens": session.total_tokens,
        "callDuration": session.duration_ms,
    }
    return body


async def _with_messages(session: Session) -> dict[str, Any]:
    page = await session_messages.list_messages(
        session.project_id, session.session_id, first=MESSAGE_LIMIT, after=None
    )
    return session_json(session, page.items, truncated=page.has_next_page)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        message = "the body is not JSON; send a JSON object with Content-Type: application/json"
        raise InvalidInput(message, field="body") from None
    if not isinstance(body, dict):
        message = "the body must be a JSON object"
        raise InvalidInput(message, field="body")
    return body


def _typed[T](
    body: dict[str, Any], name: str, kind: type[T] | tuple[type, ...]
) -> T | None:
    value = body.get(name)
    if value is None:
        return None
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        label = kind.__name__ if isinstance(kind, type) else "number"
        message = f"{name} must be a {label}, got {type(value).__name__}"
        raise InvalidInput(message, field=name)
    return cast(T, value)


def _guarded(scope: Scope, handler: Handler) -> Endpoint:
    """Check the key's scope, run `handler` for the key's project, code any error."""

    async def endpoint(request: Request) -> Response:
        try:
            principal = caller(request, scope)
            return await handler(request, principal.project_id)
        except AppError as error:
            return error_response(error, origin=True)

    return endpoint


async def create_session(request: Request, project_id: str) -> Response:
    body = await _body(request)
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or any(
        isinstance(value, dict | list) or value is None for value in metadata.values()
    ):
        message = "metadata must be a flat object of string, number and boolean values"
        raise InvalidInput(message, field="metadata")
    start_time = _typed(body, "startTime", str)
    started = await sessions.start_session(
        project_id,
        SessionStartIn(
            session_id=_typed(body, "sessionId", str),
            user_id=_typed(body, "userId", str),
            metadata=metadata,
            started_at=moment(start_time, "startTime"),
            provider=_typed(body, "provider", str),
            model=_typed(body, "model", str),
        ),
        settings=request.app.state.settings,
        broker=request.app.state.broker,
    )
    session_body = await _with_messages(started.session)
    return JSONResponse(
        {"success": True, "session": session_body},
        status_code=201 if started.created else 200,
    )


async def add_message(request: Request, project_id: str) -> Response:
    body = await _body(request)
    number = (int, float)
    timestamp = _typed(body, "timestamp", str)
    added = await session_messages.add_message(
        project_id,
        MessageIn(
            session_id=request.path_params["session_id"],
            role=_typed(body, "role", str),
            content=_typed(body, "content", str),
            message_id=_typed(body, "id", str),
            timestamp=moment(timestamp, "timestamp"),
            prompt_tokens=_typed(body, "promptTokens", int),
            completion_tokens=_typed(body, "completionTokens", int),
            cost_usd=_typed(body, "cost", number),
            duration_ms=_typed(body, "duration", number),
        ),
        settings=request.app.state.settings,
        broker=request.app.state.broker,
    )
    return JSONResponse(
        {
            "success": True,
            "session": session_json(added.session),
            "message": message_json(added.message),
        }
    )


async def get_session(request: Request, project_id: str) -> Response:
    session_id = request.path_params["session_id"]
    session = await sessions.get_session(project_id, session_id)
    if session is None:
        raise NotFound(f"no session {session_id!r} in this project")
    return JSONResponse(await _with_messages(session))


async def list_sessions(request: Request, project_id: str) -> Response:
    status = request.query_params.get("status") or None
    if status is not None and status not in _STATUSES:
        message = f"status must be one of {', '.join(_STATUSES)}, got {status!r}"
        raise InvalidInput(message, field="status")
    since, before = date_range(request)
    limit = count(request, "limit", _DEFAULT_LIMIT, _MAX_LIMIT)
    skip = count(request, "skip", 0, None)
    page = await sessions_by_offset(
        project_id,
        SessionFilter(
            user_id=request.query_params.get("userId") or None,
            statuses=(status,) if status else (),
            started_since=since,
            started_before=before,
        ),
        skip=skip,
        limit=limit,
    )
    return JSONResponse(
        {
            "sessions": [session_json(row) for row in page.items],
            "total": page.total_count,
            "limit": limit,
            "skip": skip,
        }
    )


async def complete_session(request: Request, project_id: str) -> Response:
    session = await sessions.complete_session(
        project_id,
        request.path_params["session_id"],
        broker=request.app.state.broker,
    )
    return JSONResponse({"success": True, "session": await _with_messages(session)})


async def stats_summary(request: Request, project_id: str) -> Response:
    since, before = date_range(request)
    stats = await session_statistics(
        project_id, SessionFilter(started_since=since, started_before=before)
    )
    if stats.count == 0:
        return JSONResponse({})
    totals = stats.totals
    return JSONResponse(
        {
            "_id": None,
            "totalSessions": stats.count,
            "avgMessagesPerSession": stats.messages.average,
            "avgCostPerSession": totals.message_cost_usd / stats.count,
            "avgDurationPerSession": totals.message_duration_ms / stats.count,
            "totalCost": totals.message_cost_usd,
            "totalMessages": totals.message_count,
        }
    )


async def delete_session(request: Request, project_id: str) -> Response:
    deleted = await sessions.delete_session(
        project_id,
        request.path_params["session_id"],
        broker=request.app.state.broker,
    )
    return JSONResponse(
        {
            "success": True,
            "sessionId": deleted.session_id,
            "deletedMessages": deleted.messages_deleted,
            "unlinkedCalls": deleted.calls_unlinked,
        }
    )


def _by_method(handlers: dict[str, tuple[Scope, Handler]]) -> Endpoint:
    guarded = {
        method: _guarded(scope, handler)
        for method, (scope, handler) in handlers.items()
    }

    async def endpoint(request: Request) -> Response:
        # Starlette answers HEAD on GET routes by running the GET handler.
        method = "GET" if request.method == "HEAD" else request.method
        return await guarded[method](request)

    return endpoint


routes = [
    Route(
        "/api/sessions",
        _by_method(
            {"POST": ("ingest", create_session), "GET": ("read", list_sessions)}
        ),
        methods=["GET", "POST"],
    ),
    Route(
        "/api/sessions/stats/summary",
        _guarded("read", stats_summary),
        methods=["GET"],
    ),
    Route(
        "/api/sessions/{session_id}",
        _by_method({"GET": ("read", get_session), "DELETE": ("admin", delete_session)}),
        methods=["GET", "DELETE"],
    ),
    Route(
        "/api/sessions/{session_id}/messages",
        _guarded("ingest", add_message),
        methods=["POST"],
    ),
    Route(
        "/api/sessions/{session_id}/complete",
        _guarded("ingest", complete_session),
        methods=["PATCH"],
    ),
]
