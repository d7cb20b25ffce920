"""What every plain HTTP route shares: the caller, and how errors are answered."""

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app import metrics
from app.documents.project import Scope
from app.errors import AppError, Forbidden, Unauthenticated
from app.services.keys import KEY_PREFIX, Principal, ServerAdmin

ORIGIN_KEY_HEADER = "x-project-id"


def is_origin_route(path: str) -> bool:
    """Whether `path` is one of the origin service's REST routes (`/api/...`)."""
    return path.startswith("/api/")


def bearer_secret(headers: Any) -> str | None:
    """The key from `Authorization: Bearer <key>`, or None."""
    value: str | None = headers.get("authorization")
    if value is None:
        return None
    scheme, _, secret = value.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


def presented_secret(path: str, headers: Any) -> str | None:
    """The key a request presents.

    The origin's JavaScript SDK can send no credential but `X-Project-ID` (its
    `projectId` setting), so on the origin's `/api/` routes that header may hold
    an ingest key. `Authorization: Bearer` works everywhere and wins.
    """
    secret = bearer_secret(headers)
    if secret is None and is_origin_route(path):
        secret = headers.get(ORIGIN_KEY_HEADER)
        if secret is None:
            message = (
                "send an ingest key in X-Project-ID (the SDK's projectId setting) "
                "or as 'Authorization: Bearer <key>'"
            )
            raise Unauthenticated(message)
        if not secret.strip().startswith(f"{KEY_PREFIX}_"):
            # The origin took a plain project name here; we need a key, and the
            # value is not echoed back in case it is a mistyped secret.
            message = (
                "X-Project-ID holds a project name, not an API key: put an ingest "
                f"key ({KEY_PREFIX}_ingest_...) in X-Project-ID, or send "
                "'Authorization: Bearer <key>'"
            )
            raise Unauthenticated(message)
    return secret


def caller(request: Request, scope: Scope) -> Principal:
    """The authenticated key of this request, checked for `scope`."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        message = "send an API key as 'Authorization: Bearer <key>'"
        raise Unauthenticated(message)
    if isinstance(principal, ServerAdmin):
        message = "the server admin token manages projects only; use a project key"
        raise Forbidden(message)
    assert isinstance(principal, Principal)  # the middleware stores nothing else
    principal.require(scope)
    return principal


def error_response(
    error: AppError,
    *,
    origin: bool = False,
    graphql: bool = False,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON body every plain HTTP route answers an `AppError` with.

    `origin=True` adds the `"success": false` that the origin's REST routes
    answered with, for clients that test it. `graphql=True` shapes it as a
    GraphQL response (`{"errors": [...]}`), for refusals on `/graphql` that
    happen before the schema runs.
    """
    headers = dict(headers or {})
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers.setdefault("Retry-After", str(max(1, math.ceil(retry_after))))
    detail = {"message": error.message, **error.extensions()}
    body: dict[str, Any]
    if graphql:
        message = detail.pop("message")
        body = {"errors": [{"message": message, "extensions": detail}]}
    else:
        body = {"success": False} if origin else {}
        body["error"] = detail
    metrics.record_error(error.code)
    return JSONResponse(body, status_code=error.http_status, headers=headers)
