"""What every plain HTTP route shares: the caller, and how errors are answered."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.documents.project import Scope
from app.errors import AppError, Unauthenticated
from app.services.keys import KEY_PREFIX, Principal

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
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is None:
        message = "send an API key as 'Authorization: Bearer <key>'"
        raise Unauthenticated(message)
    principal.require(scope)
    return principal


def error_response(error: AppError, *, origin: bool = False) -> JSONResponse:
    """The JSON body every plain HTTP route answers an `AppError` with.

    `origin=True` adds the `"success": false` that the origin's REST routes
    answered with, for clients that test it.
    """
    headers = {}
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    body: dict[str, Any] = {"success": False} if origin else {}
    body["error"] = {"message": error.message, **error.extensions()}
    return JSONResponse(body, status_code=error.http_status, headers=headers)
