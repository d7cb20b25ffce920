"""Turn driver failures that mean "the store is down" into `Unavailable`."""

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from app import metrics
from app.errors import TimedOut, Unavailable

log = structlog.get_logger(__name__)

# ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout all derive from
# ConnectionFailure: none of them tells us whether a write happened, so the
# client is told to retry, and retries are idempotent through call ids.
_STORE_DOWN = (ConnectionFailure, WTimeoutError)

# Server-side limit on reads, in milliseconds; `app.db.connect` sets it from
# LLMD_STORE_READ_TIMEOUT_MS. Process-wide, like the client it belongs to.
_read_limit_ms = 20_000


def configure_read_limit(milliseconds: int) -> None:
    global _read_limit_ms
    _read_limit_ms = milliseconds


def read_limit_ms() -> int:
    """The `maxTimeMS` every read sends (find: `max_time_ms=`, count: `maxTimeMS=`)."""
    return _read_limit_ms


@contextmanager
def store_errors(operation: str) -> Iterator[None]:
    """Raise `Unavailable` instead of a driver error when the store does not answer.

    Also times the block for `/metrics` (`llmd_store_operation_seconds`).
    """
    try:
        with metrics.timed_store_operation(operation):
            yield
    except ExecutionTimeout:
        metrics.store_failed(operation)
        log.warning("store.read_timed_out", operation=operation)
        message = (
            f"the query ran longer than {_read_limit_ms} ms in the store and was "
            "stopped; narrow the time range or filters"
        )
        raise TimedOut(message) from None
    except _STORE_DOWN as error:
        metrics.store_failed(operation)
        log.warning(
            "store.unavailable", operation=operation, error=type(error).__name__
        )
        message = "the store did not answer; nothing was acknowledged, retry shortly"
        raise Unavailable(message) from error
