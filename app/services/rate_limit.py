"""Per-key request limits: an in-process token bucket per API key."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Idle buckets are full again and carry no information; past this many the
# full ones are dropped so the table cannot grow without bound.
_PRUNE_ABOVE = 10_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one request against its key's bucket.

    `limit` is the burst size, `remaining` the whole requests left right now,
    `reset_s` the seconds until the bucket is full again, `retry_after_s` the
    seconds until the next request is allowed (0 when this one was).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float

    def headers(self) -> dict[str, str]:
        """The `X-RateLimit-*` headers (and `Retry-After` when refused)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_s)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after_s)))
        return headers


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """`rate_per_s` requests per second per key, bursts up to `burst`.

    One process, one table: with several workers each enforces the limit on
    its own share of the traffic.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def _refilled(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            return bucket
        elapsed = max(0.0, now - bucket.updated_at)
        bucket.tokens = min(
            float(self.burst), bucket.tokens + elapsed * self.rate_per_s
        )
        bucket.updated_at = now
        return bucket

    def _prune(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if (
                bucket.tokens + (now - bucket.updated_at) * self.rate_per_s
                >= self.burst
            ):
                del self._buckets[key]

    def _decision(self, bucket: _Bucket, *, allowed: bool) -> Decision:
        missing = float(self.burst) - bucket.tokens
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=max(0, math.floor(bucket.tokens)),
            reset_s=missing / self.rate_per_s,
            retry_after_s=0.0 if allowed else (1.0 - bucket.tokens) / self.rate_per_s,
        )

    def take(self, key: str, cost: float = 1.0) -> Decision:
        """Charge one request to `key`; refused when its bucket is empty."""
        if not self.enabled:
            return Decision(True, self.burst, self.burst, 0.0, 0.0)
        bucket = self._refilled(key)
        if bucket.tokens < cost:
            return self._decision(bucket, allowed=False)
        bucket.tokens -= cost
        return self._decision(bucket, allowed=True)

    def check(self, key: str) -> Decision:
        """Whether `key` could send a request now, without charging it."""
        if not self.enabled:
            return Decision(True, self.burst, self.burst, 0.0, 0.0)
        bucket = self._refilled(key)
        return self._decision(bucket, allowed=bucket.tokens >= 1.0)
