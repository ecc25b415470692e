"""Confirmation (spec 4.4): the confirmation request through the subscriber's own channel,
nothing else until confirmed, confirm and unsubscribe with the signed data it carries, and the
e-mail variant with a link."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.nats import start_nats
from tests.fixtures.suite import Suite
from tests.notifier.conftest import NOTIFIER_APP, NotifierSuite, Tenant, notifier_env
from tests.notifier.receivers import HttpReceiver, SmtpReceiver

SECRET = "confirmation-test-key"
LINK_PAGE = "https://confirm.example.com/page"


@pytest.fixture(scope="module")
def confirming_suite(
    tmp_path_factory: pytest.TempPathFactory, smtp: SmtpReceiver
) -> Iterator[NotifierSuite]:
    root = tmp_path_factory.mktemp("confirming-suite")
    nats = start_nats(root / "nats")
    suite = Suite(
        root,
        nats.url,
        env={"TIDINGS_SIGNED_URL_SECRET_KEY": SECRET, "TIDINGS_REQUIRE_CONFIRMATION": "true"},
    )
    notifier = suite.add(
        "notifier",
        NOTIFIER_APP,
        env=notifier_env(smtp.port, TIDINGS_EXTERNAL_CONFIRMATION_URL=LINK_PAGE),
    )
    try:
        suite.start()
        yield NotifierSuite(suite, [notifier], smtp)
    finally:
        suite.stop()
        nats.stop()


def payloads(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.snapshot()]


def confirm(tenant: Tenant, request: dict[str, Any], body: dict[str, bool]) -> int:
    headers = {
        name: request[name]
        for name in ("URL-Signature", "URL-Methods", "URL-Paths", "URL-Expires", "X-Project-ID")
    }
    return tenant.http.put(request["URL-Paths"], headers=headers, json=body).status_code


def test_webhook_confirmation_flow(confirming_suite: NotifierSuite, receiver: HttpReceiver) -> None:
    tenant = Tenant(confirming_suite.api_url)
    sid = tenant.subscribe("c", receiver.url + "/c")["subscription_id"]
    receiver.wait_for(lambda r: len(r) >= 1, 15)
    [request] = payloads(receiver)
    assert request["Message_Type"] == "SubscriptionConfirmation"
    assert request["Message"] == "You have chosen to subscribe to the queue: c"
    assert request["URL-Paths"] == f"/v2/queues/c/subscriptions/{sid}/confirm"
    assert request["URL-Methods"] == "PUT" and request["X-Project-ID"] == tenant.project
    assert request["SubscribeBody"] == {"confirmed": True}
    assert request["UnsubscribeBody"] == {"confirmed": False}
    assert request["queue_name"] == "c" and len(request["URL-Signature"]) == 64

    tenant.post("c", "too early")  # unconfirmed: nothing but the confirmation request
    # Posting again to an unconfirmed subscription asks once more (spec 2.9.2).
    assert tenant.subscribe("c", receiver.url + "/c")["subscription_id"] == sid
    receiver.wait_for(lambda r: len(r) >= 2, 15)
    time.sleep(0.5)
    kinds = [p["Message_Type"] for p in payloads(receiver)]
    assert kinds == ["SubscriptionConfirmation", "SubscriptionConfirmation"]

    assert confirm(tenant, request, request["SubscribeBody"]) == 204
    tenant.post("c", "now")
    receiver.wait_for(lambda r: len(r) >= 3, 15)
    assert payloads(receiver)[2]["body"] == "now"

    assert confirm(tenant, request, request["UnsubscribeBody"]) == 204
    receiver.wait_for(lambda r: len(r) >= 4, 15)
    notice = payloads(receiver)[3]
    assert notice["Message_Type"] == "UnsubscribeConfirmation"
    assert notice["Message"].startswith("You have unsubscribed successfully to the queue: c")
    tenant.post("c", "after unsubscribing")
    time.sleep(0.5)
    assert len(receiver.snapshot()) == 4
    tenant.close()


def test_email_confirmation_carries_a_link(confirming_suite: NotifierSuite) -> None:
    tenant = Tenant(confirming_suite.api_url)
    to = f"confirm-{tenant.project[-6:]}@example.com"
    sid = tenant.subscribe("m", f"mailto:{to}")["subscription_id"]
    [mail] = confirming_suite.smtp.wait_for(to, 1, 15)
    assert mail["Subject"] == "Zaqar Notification - Subscription Confirmation"
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert f"{LINK_PAGE}?Signature=" in text
    assert f"&Paths=/v2/queues/m/subscriptions/{sid}/confirm" in text
    assert f"&Project={tenant.project}" in text and "&Queue=m" in text
    tenant.close()
