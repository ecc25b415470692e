"""Webhook deliveries: the Zaqar payload, post_data and post_headers, the delivery id and the
HMAC signature, two notifier replicas sharing the work, and given-up deliveries listed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections import Counter
from typing import Any

import httpx

from tests.notifier.conftest import NotifierSuite, Tenant
from tests.notifier.receivers import HttpReceiver

TIMEOUT = 15.0


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does with X-Tidings-Signature."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_payload_headers_and_signature(tenant: Tenant, receiver: HttpReceiver) -> None:
    created = tenant.subscribe("orders", receiver.url + "/plain", ttl=600)
    secret = tenant.http.get(
        f"/v2/queues/orders/subscriptions/{created['subscription_id']}"
    ).json()["signing_secret"]
    assert secret == created["signing_secret"]
    [message_id] = tenant.post("orders", {"event": "BackupStarted"})
    [got] = receiver.wait_for(lambda r: len(r) >= 1, TIMEOUT)
    assert got.path == "/plain"
    assert json.loads(got.body) == {
        "body": {"event": "BackupStarted"},
        "ttl": 300,
        "queue_name": "orders",
        "Message_Type": "Notification",
    }
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Tidings-Message-Id"] == message_id
    assert re.fullmatch(r"[0-9a-f]{32}", got.headers["X-Tidings-Delivery-Id"])
    assert verify(secret, got.body, got.headers["X-Tidings-Signature"])
    assert not verify(secret, got.body + b" ", got.headers["X-Tidings-Signature"])


def test_post_data_and_post_headers(tenant: Tenant, receiver: HttpReceiver) -> None:
    template = json.dumps({"messages": [{"body": "$zaqar_message$", "ttl": 60}]})
    created = tenant.subscribe(
        "relay",
        receiver.url + "/relay",
        options={"post_data": template, "post_headers": {"X-Project-ID": "elsewhere", "X-N": 7}},
    )
    tenant.post("relay", "hello")
    [got] = receiver.wait_for(lambda r: len(r) >= 1, TIMEOUT)
    assert json.loads(got.body) == {
        "messages": [
            {
                "body": {
                    "body": "hello",
                    "ttl": 300,
                    "queue_name": "relay",
                    "Message_Type": "Notification",
                },
                "ttl": 60,
            }
        ]
    }
    assert got.headers["X-Project-ID"] == "elsewhere" and got.headers["X-N"] == "7"
    assert verify(created["signing_secret"], got.body, got.headers["X-Tidings-Signature"])


def test_each_message_reaches_each_subscriber_once_across_two_replicas(
    notifier_suite: NotifierSuite, tenant: Tenant
) -> None:
    receivers = [HttpReceiver(), HttpReceiver()]
    try:
        for number, target in enumerate(receivers):
            tenant.subscribe("fanout", f"{target.url}/r{number}")
        ids: list[str] = []
        for start in range(0, 120, 10):  # 12 posts: events spread over both replicas
            ids += tenant.post("fanout", *range(start, start + 10))
        for target in receivers:
            got = target.wait_for(lambda r: len(r) >= len(ids), TIMEOUT)
            by_message = Counter(r.headers["X-Tidings-Message-Id"] for r in got)
            assert set(by_message) == set(ids)
            assert set(by_message.values()) == {1}, "a notification was delivered twice"
            assert len({r.headers["X-Tidings-Delivery-Id"] for r in got}) == len(ids)
    finally:
        for target in receivers:
            target.stop()
    delivered = [
        metric(
            service.url,
            'tidings_notifier_deliveries_total{outcome="delivered",subscriber_type="webhook"}',
        )
        for service in notifier_suite.notifiers
    ]
    assert all(count > 0 for count in delivered), f"one replica did nothing: {delivered}"


def metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_a_rejecting_receiver_is_given_up_at_once_and_listed(
    notifier_suite: NotifierSuite, tenant: Tenant, receiver: HttpReceiver
) -> None:
    receiver.behaviour.status = 404  # not retryable: the request itself is wrong
    sid = tenant.subscribe("gone", receiver.url + "/nothing-here")["subscription_id"]
    posted = tenant.http.post("/v2/queues/gone/messages", json={"messages": [{"body": {"n": 1}}]})
    assert posted.status_code == 201
    message_id = posted.json()["resources"][0].rsplit("/", 1)[1]
    request_id = posted.headers["X-OpenStack-Request-Id"]
    receiver.wait_for(lambda r: len(r) >= 1, TIMEOUT)
    path = f"/v2/queues/gone/subscriptions/{sid}/failed_deliveries"
    listed = wait_for_failures(tenant, path, 1)
    [record] = listed["failed_deliveries"]
    assert record["message_id"] == message_id and record["attempts"] == 1
    assert record["last_error"].startswith("HTTP 404")
    assert record["subscriber"] == receiver.url + "/nothing-here"
    assert record["delivery_id"] == receiver.snapshot()[0].headers["X-Tidings-Delivery-Id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["failed"])
    assert len(receiver.snapshot()) == 1  # no retries of a 4xx
    # The post's request id follows it into the notifier's log of the give-up.
    logs = "".join(service.log_tail(400) for service in notifier_suite.notifiers)
    assert any(request_id in line and "gave up delivery" in line for line in logs.splitlines()), (
        request_id
    )


def wait_for_failures(tenant: Tenant, path: str, count: int) -> dict[str, list[dict[str, Any]]]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        listed = tenant.http.get(path)
        assert listed.status_code == 200, listed.text
        body: dict[str, list[dict[str, Any]]] = listed.json()
        if len(body["failed_deliveries"]) >= count or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_a_new_subscription_is_served_at_once_despite_the_cache(
    tenant: Tenant, receiver: HttpReceiver
) -> None:
    """The queue's (empty) subscription list is cached by the first post; the subscription
    event drops it on every replica, long before the cache ttl (30 s) would."""
    tenant.post("cached", "nobody listens yet")
    time.sleep(0.5)  # the notifiers have looked the queue up and cached "no subscriptions"
    tenant.subscribe("cached", receiver.url + "/late")
    [message_id] = tenant.post("cached", "now someone does")
    [got] = receiver.wait_for(lambda r: len(r) >= 1, 5)
    assert got.headers["X-Tidings-Message-Id"] == message_id


def test_trust_subscribers_are_posted_to_without_the_prefix(
    tenant: Tenant, receiver: HttpReceiver
) -> None:
    """In noauth mode there is no Keystone: ``trust+http`` is delivered like a webhook, without
    a token (tests/auth/test_trust_subscriptions.py covers keystone mode)."""
    tenant.subscribe("trusted", "trust+" + receiver.url + "/trust")
    tenant.post("trusted", {"k": 1})
    [got] = receiver.wait_for(lambda r: len(r) >= 1, TIMEOUT)
    assert got.path == "/trust" and json.loads(got.body)["body"] == {"k": 1}
    assert "X-Auth-Token" not in got.headers


def test_probes_and_metrics(
    notifier_suite: NotifierSuite, tenant: Tenant, receiver: HttpReceiver
) -> None:
    tenant.subscribe("metered", receiver.url + "/m")
    tenant.post("metered", 1)
    receiver.wait_for(lambda r: len(r) >= 1, TIMEOUT)
    for service in notifier_suite.notifiers:
        assert httpx.get(service.url + "/healthz", timeout=5).status_code == 200
        ready = httpx.get(service.url + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json() == {"nats": True, "consumer": True}
    text = "".join(httpx.get(s.url + "/metrics", timeout=5).text for s in notifier_suite.notifiers)
    for family in (
        'tidings_notifier_deliveries_total{outcome="delivered",subscriber_type="webhook"}',
        'tidings_notifier_delivery_attempts_total{result="ok",subscriber_type="webhook"}',
        'tidings_notifier_delivery_latency_seconds_bucket{le="0.2",subscriber_type="webhook"}',
        "tidings_notifier_consumer_pending_events ",
        "tidings_notifier_events_inflight ",
    ):
        assert family in text, family
