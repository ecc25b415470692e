"""Retry policies (spec 4.3) end to end: each back-off function's schedule, with delays scaled
down by TIDINGS_RETRY_DELAY_SCALE, the subscription's policy over the queue's, retries on 5xx
and on refused connections, and the give-up record when a schedule runs out."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.notifier.conftest import ATTEMPT_TIMEOUT, DELAY_SCALE, Tenant
from tests.notifier.receivers import HttpReceiver, refusing_url
from tests.notifier.test_webhooks import wait_for_failures
from tidings.notifier.retry import RetryPolicy, retry_delays, select_policy

# A short policy: 1 immediate retry, 1 after 10 s, the function from 10 s to 30 s, 1 after
# 30 s; scaled by DELAY_SCALE that is 0.1 s .. 0.3 s between attempts.
POLICY: dict[str, Any] = {
    "retries_with_no_delay": 1,
    "minimum_delay_retries": 1,
    "minimum_delay": 10,
    "maximum_delay": 30,
    "maximum_delay_retries": 1,
}
# Timers and a busy 2-core machine add latency, never subtract it: gaps may run late by this.
LATE = 0.35


def test_schedules_of_the_four_functions() -> None:
    expected = {
        "linear": [10, 15, 20, 25],
        "arithmetic": [10, 13, 20, 30],
        "geometric": [10, 14, 20, 30],
        "exponential": [10, 14, 20, 30],
    }
    for function, backoff in expected.items():
        policy = RetryPolicy.from_json({**POLICY, "retry_backoff_function": function})
        assert retry_delays(policy) == [0, 10, *backoff, 30], function
    defaults = retry_delays(RetryPolicy())
    assert defaults == [0, 0, 0, 5, 5, 5, 5, 10, 15, 20, 25, 30, 30, 30]
    assert retry_delays(RetryPolicy(), scale=0.5)[3] == 2.5


def test_policy_selection() -> None:
    queue = {"retries_with_no_delay": 1}
    subscription = {"retries_with_no_delay": 2}
    assert select_policy(queue, subscription).retries_with_no_delay == 2
    assert select_policy(queue, None).retries_with_no_delay == 1
    assert select_policy(None, None) == RetryPolicy()
    ignoring = {**queue, "ignore_subscription_override": True}
    assert select_policy(ignoring, subscription).retries_with_no_delay == 1


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_attempts_follow_the_schedule_then_give_up(
    tenant: Tenant, receiver: HttpReceiver, function: str
) -> None:
    receiver.behaviour.status = 503
    policy = {**POLICY, "retry_backoff_function": function}
    sid = tenant.subscribe(
        "retry", receiver.url + "/" + function, options={"_retry_policy": policy}
    )["subscription_id"]
    tenant.post("retry", {"f": function})
    delays = retry_delays(RetryPolicy.from_json(policy), DELAY_SCALE)
    got = receiver.wait_for(lambda r: len(r) >= 1 + len(delays), 20)
    times = [r.at for r in got]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for gap, delay in zip(gaps, delays, strict=True):
        assert delay - 0.02 <= gap <= delay + LATE, (function, gaps, delays)
    assert len({r.headers["X-Tidings-Delivery-Id"] for r in got}) == 1  # one id, every attempt
    listed = wait_for_failures(tenant, f"/v2/queues/retry/subscriptions/{sid}/failed_deliveries", 1)
    [record] = listed["failed_deliveries"]
    assert record["attempts"] == 1 + len(delays)
    assert str(record["last_error"]).startswith("HTTP 503")
    assert len(receiver.snapshot()) == 1 + len(delays)  # nothing after giving up


def test_a_receiver_that_recovers_gets_the_notification(
    tenant: Tenant, receiver: HttpReceiver
) -> None:
    receiver.behaviour.plan = [500, 502, 500]  # then 200
    # The queue's policy applies (the subscription has none).
    assert tenant.http.put("/v2/queues/flaky", json={"_retry_policy": POLICY}).status_code == 201
    sid = tenant.subscribe("flaky", receiver.url + "/flaky")["subscription_id"]
    tenant.post("flaky", "x")
    got = receiver.wait_for(lambda r: len(r) >= 4, 10)
    assert len(got) == 4
    failures = tenant.http.get(f"/v2/queues/flaky/subscriptions/{sid}/failed_deliveries").json()
    assert failures["failed_deliveries"] == []


def test_refused_connections_are_retried_and_recorded(tenant: Tenant) -> None:
    url = refusing_url()
    policy = {**POLICY, "minimum_delay_retries": 0, "maximum_delay_retries": 0}
    sid = tenant.subscribe("refused", url, options={"_retry_policy": policy})["subscription_id"]
    tenant.post("refused", 1)
    listed = wait_for_failures(
        tenant, f"/v2/queues/refused/subscriptions/{sid}/failed_deliveries", 1
    )
    [record] = listed["failed_deliveries"]
    delays = retry_delays(RetryPolicy.from_json(policy))
    assert record["attempts"] == 1 + len(delays)
    assert str(record["last_error"]).startswith("cannot connect")


def test_a_hanging_receiver_times_out_each_attempt(tenant: Tenant, receiver: HttpReceiver) -> None:
    receiver.behaviour.hang = True
    policy = {**POLICY, "retries_with_no_delay": 0, "minimum_delay_retries": 0,
              "maximum_delay_retries": 0, "minimum_delay": 1, "maximum_delay": 11}  # fmt: skip
    sid = tenant.subscribe("hang", receiver.url + "/hang", options={"_retry_policy": policy})[
        "subscription_id"
    ]
    tenant.post("hang", 1)
    listed = wait_for_failures(tenant, f"/v2/queues/hang/subscriptions/{sid}/failed_deliveries", 1)
    [record] = listed["failed_deliveries"]
    assert record["attempts"] == 3  # the first, then the linear function's 1 s and 6 s
    assert record["last_error"] == f"no answer within {ATTEMPT_TIMEOUT:g} s"
