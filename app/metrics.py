"""Prometheus metrics and the helpers every layer calls to count.

Metrics live in one registry of this module (not prometheus-client's global
one), so several apps in one process (tests) share counters without
registering twice. Labels are bounded on purpose: route templates, error
codes, operation and reason names written in code, never ids or tenants.

Helpers for ingest paths (GraphQL, HTTP batch, OTLP, origin routes):
`record_ingested(source, count)`, `observe_batch(source, size)`,
`record_rejected(reason, count)`.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "llmd_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "llmd_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "llmd_errors",
    "Errors answered to clients (GraphQL and HTTP), by code.",
    ["code"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "llmd_rate_limited",
    "Requests refused by the per-key rate limit, by transport.",
    ["transport"],
    registry=REGISTRY,
)
INGESTED = Counter(
    "llmd_ingested_calls",
    "Calls stored for the first time, by ingest path.",
    ["source"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "llmd_ingest_batch_size",
    "Items per ingest request, by ingest path.",
    ["source"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 5000),
    registry=REGISTRY,
)
SINGLE_CALL_GROUP = Histogram(
    "llmd_single_call_group_size",
    "Single-call requests (logCall, POST /api/logs) written together as one batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 250, 1000),
    registry=REGISTRY,
)
COUNTED_LATE = Counter(
    "llmd_calls_counted_late",
    "Calls of failed, never resent batches that the sweep counted in the totals.",
    registry=REGISTRY,
)
REJECTED = Counter(
    "llmd_ingest_rejected_items",
    "Ingest items refused, by reason (invalid, forbidden, too_large, ...).",
    ["reason"],
    registry=REGISTRY,
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "llmd_subscriptions_active",
    "Live subscriptions in this process.",
    registry=REGISTRY,
)
SUBSCRIPTIONS_OPENED = Counter(
    "llmd_subscriptions_opened",
    "Subscriptions started in this process.",
    registry=REGISTRY,
)
SUBSCRIBERS_DROPPED = Counter(
    "llmd_subscribers_dropped",
    "Subscribers dropped because they fell too far behind.",
    registry=REGISTRY,
)
STORE_LATENCY = Histogram(
    "llmd_store_operation_seconds",
    "Time spent in store operations, by operation name.",
    ["operation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
STORE_FAILURES = Counter(
    "llmd_store_failures",
    "Store operations that failed because the store did not answer.",
    ["operation"],
    registry=REGISTRY,
)


def record_error(code: str) -> None:
    ERRORS.labels(code=code).inc()


def record_rate_limited(transport: str) -> None:
    RATE_LIMITED.labels(transport=transport).inc()


def record_ingested(source: str, count: int = 1) -> None:
    """Count calls stored for the first time (not retries of stored ones)."""
    if count:
        INGESTED.labels(source=source).inc(count)


def observe_batch(source: str, size: int) -> None:
    """Record how many items one ingest request carried."""
    BATCH_SIZE.labels(source=source).observe(size)


def observe_single_call_group(size: int) -> None:
    """Record how many single-call requests one store batch served."""
    SINGLE_CALL_GROUP.observe(size)


def record_counted_late(count: int) -> None:
    """Count calls the sweep added to the totals after their request failed."""
    if count:
        COUNTED_LATE.inc(count)


def record_rejected(reason: str, count: int = 1) -> None:
    """Count ingest items refused, by a short fixed reason name."""
    if count:
        REJECTED.labels(reason=reason).inc(count)


def subscription_opened() -> None:
    SUBSCRIPTIONS_OPENED.inc()
    SUBSCRIPTIONS_ACTIVE.inc()


def subscription_closed() -> None:
    SUBSCRIPTIONS_ACTIVE.dec()


def subscriber_dropped() -> None:
    SUBSCRIBERS_DROPPED.inc()


@contextmanager
def timed_store_operation(operation: str) -> Iterator[None]:
    """Observe the duration of the store work inside the block."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STORE_LATENCY.labels(operation=operation).observe(time.perf_counter() - started)


def store_failed(operation: str) -> None:
    STORE_FAILURES.labels(operation=operation).inc()


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
