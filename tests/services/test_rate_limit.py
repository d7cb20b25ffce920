"""The token bucket, on a clock the test moves."""

from app.services.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_requests_refill_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock)

    decisions = [limiter.take("k") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after_s == 0.5
    assert decisions[3].headers()["Retry-After"] == "1"
    assert decisions[2].headers()["X-RateLimit-Reset"] == "2"  # 3 tokens at 2/s

    clock.now += 0.5
    assert limiter.take("k").allowed
    assert not limiter.take("k").allowed
    assert limiter.take("other").allowed  # each key has its own bucket


def test_check_does_not_charge_and_zero_rate_turns_limits_off() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_s=1, burst=1, clock=clock)
    assert limiter.check("k").allowed
    assert limiter.check("k").allowed
    assert limiter.take("k").allowed
    assert not limiter.check("k").allowed

    unlimited = RateLimiter(rate_per_s=0, burst=1)
    assert all(unlimited.take("k").allowed for _ in range(100))
