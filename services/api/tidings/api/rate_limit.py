"""Per-project request rate limits shared by every api replica: a global token bucket per project,
approximated in each replica.

Each replica keeps, per project, a bucket refilled at the project's rate up to its burst. A
request takes one token from the bucket of the replica that serves it, or is refused with
:class:`RateLimited` (429, ``Retry-After`` = seconds until a token is back). What the replica
admitted is reported to its peers every sync interval (see :mod:`tidings.api.rate_sync`), and
each peer takes the reported count out of its own bucket of that project, which may go below
zero: the debt is paid back by the refill before anyone admits again. So every replica's bucket
tracks the admissions of all replicas, late by at most one sync interval plus NATS latency.

The approximation: over a long run the project gets its rate in all, whatever the number of
replicas; the excess is bounded by what peers admit before they hear of each other (about one
burst per replica, plus the rate times the sync interval per replica). Without NATS each replica
limits alone, so the limit is multiplied by the number of replicas until NATS returns.

The hot path is a dict lookup and a little arithmetic; with no limit configured it is skipped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tidings.api import metrics
from tidings.common.errors import RateLimited

Clock = Callable[[], float]


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        elapsed = now - self.stamp
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.stamp = now


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int = 0,
        overrides: Mapping[str, float] | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        """``rate`` requests a second per project (0: unlimited) and ``burst`` (0: one second's
        worth); ``overrides`` give some projects another rate (0: unlimited)."""
        self._rate = rate
        self._burst = burst
        self._overrides = dict(overrides or {})
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._unreported: dict[str, int] = {}
        self.enabled = rate > 0 or any(r > 0 for r in self._overrides.values())

    @property
    def tracked_projects(self) -> int:
        """Projects with a bucket here (a full bucket is forgotten at the next report)."""
        return len(self._buckets)

    def _new_bucket(self, project: str, now: float) -> _Bucket | None:
        rate = self._overrides.get(project, self._rate)
        if rate <= 0:
            return None
        burst = float(self._burst or max(1, math.ceil(rate)))
        return _Bucket(rate, burst, burst, now)

    def admit(self, project: str) -> None:
        """Take a token for one request of ``project`` or raise :class:`RateLimited`."""
        now = self._clock()
        bucket = self._buckets.get(project)
        if bucket is None:
            bucket = self._new_bucket(project, now)
            if bucket is None:
                return
            self._buckets[project] = bucket
        else:
            bucket.refill(now)
        if bucket.tokens < 1:
            metrics.RATE_LIMITED.inc()
            wait = math.ceil((1 - bucket.tokens) / bucket.rate)
            raise RateLimited(
                f"The project sends more than {bucket.rate:g} requests a second. "
                "Slow down, and retry after the time given in Retry-After.",
                retry_after=wait,
            )
        bucket.tokens -= 1
        self._unreported[project] = self._unreported.get(project, 0) + 1

    def absorb(self, counts: Mapping[str, int]) -> None:
        """Take the admissions a peer reported out of this replica's buckets."""
        now = self._clock()
        for project, count in counts.items():
            bucket = self._buckets.get(project)
            if bucket is None:
                bucket = self._new_bucket(project, now)
                if bucket is None:
                    continue
                self._buckets[project] = bucket
            else:
                bucket.refill(now)
            bucket.tokens -= count

    def take_report(self) -> dict[str, int]:
        """What this replica admitted since the last report; forgets full buckets."""
        report, self._unreported = self._unreported, {}
        now = self._clock()
        for project in [p for p, b in self._buckets.items() if p not in report]:
            bucket = self._buckets[project]
            bucket.refill(now)
            if bucket.tokens >= bucket.burst:  # a new bucket would be the same
                del self._buckets[project]
        metrics.RATE_LIMIT_PROJECTS.set(self.tracked_projects)
        return report
