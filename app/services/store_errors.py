"""Turn driver failures that mean "the store is down" into `Unavailable`."""

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from app import metrics
from app.errors import Unavailable

log = structlog.get_logger(__name__)

# ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout all derive from
# ConnectionFailure: none of them tells us whether a write happened, so the
# client is told to retry, and retries are idempotent through call ids.
_STORE_DOWN = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


@contextmanager
def store_errors(operation: str) -> Iterator[None]:
    """Raise `Unavailable` instead of a driver error when the store does not answer.

    Also times the block for `/metrics` (`llmd_store_operation_seconds`).
    """
    try:
        with metrics.timed_store_operation(operation):
            yield
    except _STORE_DOWN as error:
        metrics.store_failed(operation)
        log.warning(
            "store.unavailable", operation=operation, error=type(error).__name__
        )
        message = "the store did not answer; nothing was acknowledged, retry shortly"
        raise Unavailable(message) from error
