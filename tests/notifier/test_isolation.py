"""One subscriber's trouble is nobody else's: while one tenant's endpoint accepts connections
and never answers and another's refuses them, a healthy subscriber of a third tenant gets
every notification at once."""

from __future__ import annotations

import time

from tests.notifier.conftest import ATTEMPT_TIMEOUT, NotifierSuite, Tenant
from tests.notifier.receivers import HttpReceiver, refusing_url

# Each broken delivery is tried three times (about 0.5 s apart at the tests' delay scale).
SHORT_POLICY = {
    "retries_with_no_delay": 1,
    "minimum_delay_retries": 1,
    "minimum_delay": 50,
    "maximum_delay": 60,
    "maximum_delay_retries": 0,
    "retry_backoff_function": "linear",
}
LATENCY_TARGET = 1.0  # seconds from the 201 of a post to the healthy receiver's request
MESSAGES = 20
PER_SUBSCRIBER = 4  # TIDINGS_PER_SUBSCRIBER_CONCURRENCY of the suite


def test_hanging_and_refusing_subscribers_do_not_delay_a_healthy_one(
    notifier_suite: NotifierSuite,
) -> None:
    hanging, healthy = HttpReceiver(), HttpReceiver()
    hanging.behaviour.hang = True
    tenants = [Tenant(notifier_suite.api_url) for _ in range(3)]
    slow, refused, fine = tenants
    try:
        slow.subscribe("work", hanging.url + "/hang", options={"_retry_policy": SHORT_POLICY})
        refused.subscribe("work", refusing_url(), options={"_retry_policy": SHORT_POLICY})
        fine.subscribe("work", healthy.url + "/ok")
        # The troubled tenants first, in several posts, so their deliveries are in flight.
        for _ in range(4):
            slow.post("work", *range(MESSAGES // 4))
            refused.post("work", *range(MESSAGES // 4))
        posted_at: dict[str, float] = {}
        for number in range(MESSAGES):
            [message_id] = fine.post("work", number)
            posted_at[message_id] = time.time()
            time.sleep(0.02)
        got = healthy.wait_for(lambda r: len(r) >= MESSAGES, 10)
        latencies = {
            r.headers["X-Tidings-Message-Id"]: r.at - posted_at[r.headers["X-Tidings-Message-Id"]]
            for r in got
        }
        assert set(latencies) == set(posted_at)
        assert max(latencies.values()) < LATENCY_TARGET, sorted(latencies.values())[-5:]
        # Meanwhile the hanging endpoint never had more than its cap of attempts open: each
        # one stays open for the attempt timeout, so no window shorter than that saw more.
        arrivals = [r.at for r in hanging.snapshot()]
        assert arrivals, "the hanging endpoint was never tried"
        window = ATTEMPT_TIMEOUT * 0.8
        busiest = max(sum(1 for u in arrivals if t <= u < t + window) for t in arrivals)
        # The cap is per replica, and the suite runs two.
        assert busiest <= PER_SUBSCRIBER * len(notifier_suite.notifiers), (busiest, arrivals)
    finally:
        for tenant in tenants:
            tenant.close()
        hanging.stop()
        healthy.stop()
