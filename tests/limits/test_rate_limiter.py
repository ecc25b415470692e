"""The per-replica arithmetic of the shared token bucket, on a manual clock."""

from __future__ import annotations

import pytest

from tidings.api.rate_limit import RateLimiter
from tidings.common.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admitted(limiter: RateLimiter, project: str, attempts: int) -> int:
    count = 0
    for _ in range(attempts):
        try:
            limiter.admit(project)
        except RateLimited:
            continue
        count += 1
    return count


def test_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(10, burst=5, clock=clock)
    assert admitted(limiter, "p", 20) == 5
    clock.now += 0.5  # five tokens back
    assert admitted(limiter, "p", 20) == 5
    with pytest.raises(RateLimited) as refused:
        limiter.admit("p")
    assert refused.value.retry_after == 1
    assert admitted(limiter, "other", 20) == 5  # per project


def test_peer_admissions_put_the_bucket_in_debt() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)  # burst: one second's worth, 2
    limiter.absorb({"p": 8})  # a peer admitted 8: 2 - 8 = -6 tokens
    with pytest.raises(RateLimited) as refused:
        limiter.admit("p")
    assert refused.value.retry_after == 4  # (1 - -6) / 2 = 3.5 s, rounded up
    clock.now += 3.5
    assert admitted(limiter, "p", 5) == 1


def test_reports_carry_own_admissions_once_and_forget_full_buckets() -> None:
    clock = Clock()
    limiter = RateLimiter(5, overrides={"vip": 100, "free": 0}, clock=clock)
    assert admitted(limiter, "p", 3) == 3
    assert admitted(limiter, "vip", 50) == 50
    assert admitted(limiter, "free", 500) == 500  # 0: unlimited, and never reported
    assert limiter.take_report() == {"p": 3, "vip": 50}
    assert limiter.take_report() == {}
    clock.now += 60  # every bucket refilled: nothing left to remember
    limiter.take_report()
    assert limiter.tracked_projects == 0


def test_disabled_without_any_rate() -> None:
    assert not RateLimiter(0).enabled
    assert not RateLimiter(0, overrides={"p": 0}).enabled
    assert RateLimiter(0, overrides={"p": 1}).enabled
