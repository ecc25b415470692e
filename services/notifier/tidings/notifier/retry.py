"""Retry policies of spec 4.3: which policy applies, and the delays it prescribes.

After a failed first attempt a policy allows, in order: ``retries_with_no_delay`` immediate
retries; ``minimum_delay_retries`` retries ``minimum_delay`` apart; one retry after each value
of the back-off function between ``minimum_delay`` and ``maximum_delay``; then
``maximum_delay_retries`` retries ``maximum_delay`` apart. :func:`retry_delays` lists those
waits; the delivery schedules each one on the event loop rather than sleeping through it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tidings.common.validation import RETRY_POLICY_DEFAULTS

# Zaqar steps its back-off functions by this many seconds between the two delays.
BACKOFF_STEP = 5


def _linear(low: int, high: int) -> list[float]:
    return [float(delay) for delay in range(low, high, BACKOFF_STEP)]


def _points(low: int, high: int) -> int:
    return (high - low) // BACKOFF_STEP


def _arithmetic(low: int, high: int) -> list[float]:
    """Gaps growing by a constant: low, low + d, low + 3d, low + 6d, ... reaching high."""
    n = _points(low, high)
    if n < 2:
        return [float(low)] * n
    step = 2.0 * (high - low) / (n * (n - 1))
    return [float(int(low + step * k * (k + 1) / 2)) for k in range(n)]


def _geometric(low: int, high: int) -> list[float]:
    """A constant ratio from low to high (computed with powers of ten)."""
    n = _points(low, high)
    if n < 2:
        return [float(low)] * n
    ratio = 10 ** (math.log10(high / low) / (n - 1))
    return [float(int(low * ratio**k + 1e-9)) for k in range(n)]


def _exponential(low: int, high: int) -> list[float]:
    """low * e^(rate * k), the rate chosen so the last value is high."""
    n = _points(low, high)
    if n < 2:
        return [float(low)] * n
    rate = math.log(high / low) / (n - 1)
    return [float(int(low * math.exp(rate * k) + 1e-9)) for k in range(n)]


BACKOFF_FUNCTIONS: dict[str, Callable[[int, int], list[float]]] = {
    "linear": _linear,
    "arithmetic": _arithmetic,
    "geometric": _geometric,
    "exponential": _exponential,
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries_with_no_delay: int = 3
    minimum_delay_retries: int = 3
    minimum_delay: int = 5
    maximum_delay: int = 30
    maximum_delay_retries: int = 3
    retry_backoff_function: str = "linear"
    ignore_subscription_override: bool = False

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> RetryPolicy:
        """Missing or null keys take the defaults (storage validated the rest)."""
        values: dict[str, Any] = dict(RETRY_POLICY_DEFAULTS)
        for key, value in (raw or {}).items():
            if key in values and value is not None:
                values[key] = value
        if values["retry_backoff_function"] not in BACKOFF_FUNCTIONS:
            values["retry_backoff_function"] = "linear"
        return cls(
            retries_with_no_delay=int(values["retries_with_no_delay"]),
            minimum_delay_retries=int(values["minimum_delay_retries"]),
            minimum_delay=int(values["minimum_delay"]),
            maximum_delay=int(values["maximum_delay"]),
            maximum_delay_retries=int(values["maximum_delay_retries"]),
            retry_backoff_function=str(values["retry_backoff_function"]),
            ignore_subscription_override=bool(values["ignore_subscription_override"]),
        )


def select_policy(
    queue_policy: Mapping[str, Any] | None, subscription_policy: Mapping[str, Any] | None
) -> RetryPolicy:
    """The subscription's policy overrides the queue's, unless either says to ignore that."""
    ignore = any(
        bool(policy and policy.get("ignore_subscription_override"))
        for policy in (queue_policy, subscription_policy)
    )
    if ignore:
        return RetryPolicy.from_json(queue_policy)
    return RetryPolicy.from_json(subscription_policy or queue_policy)


def retry_delays(policy: RetryPolicy, scale: float = 1.0) -> list[float]:
    """The wait before each retry, in seconds, multiplied by ``scale``."""
    low, high = policy.minimum_delay, policy.maximum_delay
    delays: list[float] = [0.0] * policy.retries_with_no_delay
    delays += [float(low)] * policy.minimum_delay_retries
    delays += BACKOFF_FUNCTIONS[policy.retry_backoff_function](low, high)
    delays += [float(high)] * policy.maximum_delay_retries
    return [delay * scale for delay in delays]
