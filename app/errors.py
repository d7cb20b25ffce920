"""Errors the services raise, each with a stable machine-readable code.

    AppError                     code          HTTP
    ├── InvalidInput             INVALID_INPUT 400   bad argument; names the field
    │   └── PayloadTooLarge      PAYLOAD_TOO_LARGE 413
    ├── Unauthenticated          UNAUTHENTICATED 401 no key, unknown or revoked key
    ├── Forbidden                FORBIDDEN     403   the key lacks the scope
    ├── NotFound                 NOT_FOUND     404
    ├── Conflict                 CONFLICT      409
    ├── RateLimited              RATE_LIMITED  429   retry after `retry_after_s`
    ├── Unavailable              UNAVAILABLE   503   the store did not answer; retry
    └── TimedOut                 TIMEOUT       504   the operation ran too long

Services raise these and never import GraphQL or Starlette; `app/schema/errors.py`
and the HTTP routes turn them into responses. Messages are safe to show to the
caller and say how to fix the problem.
"""

import math
from typing import ClassVar


def _whole_seconds(seconds: float) -> int:
    # Retry-After takes whole seconds; never tell a client to retry at once.
    return max(1, math.ceil(seconds))


class AppError(Exception):
    """Root of every error a client is meant to see."""

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def extensions(self) -> dict[str, object]:
        """The machine-readable part of the error, for GraphQL and JSON bodies."""
        extensions: dict[str, object] = {"code": self.code}
        if self.field is not None:
            extensions["field"] = self.field
        return extensions


class InvalidInput(AppError):
    """An argument is malformed or out of range; `field` names it."""

    code = "INVALID_INPUT"
    http_status = 400


class PayloadTooLarge(InvalidInput):
    """A request body or batch exceeds a configured limit."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class Unauthenticated(AppError):
    """No API key, or one that is unknown or revoked."""

    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(AppError):
    """The key is valid but lacks the scope the operation needs."""

    code = "FORBIDDEN"
    http_status = 403


class NotFound(AppError):
    """The object does not exist in the caller's project."""

    code = "NOT_FOUND"
    http_status = 404


class Conflict(AppError):
    """The request contradicts stored state."""

    code = "CONFLICT"
    http_status = 409


class RateLimited(AppError):
    """The key sent more requests than its limit allows."""

    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def extensions(self) -> dict[str, object]:
        return {
            **super().extensions(),
            "retryAfterS": _whole_seconds(self.retry_after_s),
        }


class Unavailable(AppError):
    """The store did not answer in time; nothing was acknowledged, retry later."""

    code = "UNAVAILABLE"
    http_status = 503

    def __init__(self, message: str, *, retry_after_s: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def extensions(self) -> dict[str, object]:
        return {
            **super().extensions(),
            "retryAfterS": _whole_seconds(self.retry_after_s),
        }


class TimedOut(AppError):
    """The operation ran longer than the configured limit and was cancelled."""

    code = "TIMEOUT"
    http_status = 504
