"""``trust+http`` subscriptions in keystone mode, against the real Keystone of the fixtures.

The api creates a trust from the subscriber to the ``tidings`` service user on subscribe; the
notifier, acting as that user through the trust, sends a trust-scoped ``X-Auth-Token`` that
Keystone validates as the subscriber's own (impersonation), scoped to the subscriber's project
and to nothing else. These tests run their own suite (NATS, storage, api, notifier; every
service with the fixture's service user) so that no other notifier takes the events.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.auth.conftest import SECRET_KEY, auth_headers
from tests.auth.test_signed_url_rest import share, signed_headers
from tests.fixtures.keystone import DOMAIN, USERS, KeystoneServer
from tests.fixtures.nats import start_nats
from tests.fixtures.ports import free_port
from tests.fixtures.suite import ServiceProcess, Suite
from tests.notifier.receivers import HttpReceiver
from tests.websocket.client import WsClient
from tidings.common import schemas as s
from tidings.common.auth_settings import KeystoneSettings
from tidings.common.errors import ServiceUnavailable
from tidings.common.nats_connection import NatsConnection
from tidings.common.rpc import StorageClient
from tidings.common.trusts import TrustBroker
from tidings.notifier.trust_tokens import TrustTokenError, TrustTokens

NOTIFIER_APP = "tidings.notifier.app:create_app"
WEBSOCKET_APP = "tidings.websocket.app:create_app"
TIMEOUT = 15.0


@dataclass
class TrustSuite:
    keystone: KeystoneServer
    suite: Suite
    notifier: ServiceProcess
    websocket: ServiceProcess
    nats_url: str

    @property
    def api_url(self) -> str:
        return self.suite.api_url

    @property
    def ws_url(self) -> str:
        return self.websocket.url.replace("http://", "ws://") + "/"


@pytest.fixture(scope="module")
def trust_suite(
    keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrustSuite]:
    root = tmp_path_factory.mktemp("trust-suite")
    nats = start_nats(root / "nats")
    settings = keystone.service_settings(TIDINGS_SIGNED_URL_SECRET_KEY=SECRET_KEY)
    suite = Suite(root, nats.url, env=settings)
    notifier = suite.add(
        "notifier",
        NOTIFIER_APP,
        env={"TIDINGS_DELIVERY_TIMEOUT": "2", "TIDINGS_RETRY_DELAY_SCALE": "0.01"},
    )
    websocket = suite.add("websocket", WEBSOCKET_APP)
    try:
        suite.start()
        yield TrustSuite(keystone, suite, notifier, websocket, nats.url)
    finally:
        suite.stop()
        nats.stop()


@pytest.fixture
def rest(trust_suite: TrustSuite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=trust_suite.api_url, timeout=10) as client:
        yield client


def queue_name() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


def subscribe(rest: httpx.Client, token: str, queue: str, subscriber: str, **fields: Any) -> str:
    response = rest.post(
        f"/v2/queues/{queue}/subscriptions",
        headers=auth_headers(token),
        json={"subscriber": subscriber, **fields},
    )
    assert response.status_code == 201, response.text
    sid: str = response.json()["subscription_id"]
    return sid


def subscription(rest: httpx.Client, token: str, queue: str, sid: str) -> dict[str, Any]:
    response = rest.get(f"/v2/queues/{queue}/subscriptions/{sid}", headers=auth_headers(token))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def post(rest: httpx.Client, token: str, queue: str, *bodies: Any) -> None:
    response = rest.post(
        f"/v2/queues/{queue}/messages",
        headers=auth_headers(token),
        json={"messages": [{"ttl": 300, "body": body} for body in bodies]},
    )
    assert response.status_code == 201, response.text


def listed_messages(rest: httpx.Client, token: str, queue: str) -> list[dict[str, Any]]:
    response = rest.get(f"/v2/queues/{queue}/messages?echo=true", headers=auth_headers(token))
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def trust_exists(keystone: KeystoneServer, trust_id: str) -> bool:
    try:
        keystone.client("admin").trusts.get(trust_id)
    except ks_exceptions.NotFound:
        return False
    return True


def expires_in(trust: Any) -> float:
    expires = datetime.datetime.fromisoformat(trust.expires_at.replace("Z", "+00:00"))
    return (expires - datetime.datetime.now(datetime.UTC)).total_seconds()


def wait_for_failures(rest: httpx.Client, token: str, queue: str, sid: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        response = rest.get(
            f"/v2/queues/{queue}/subscriptions/{sid}/failed_deliveries",
            headers=auth_headers(token),
        )
        assert response.status_code == 200, response.text
        failures: list[dict[str, Any]] = response.json()["failed_deliveries"]
        if failures:
            return failures
        assert time.monotonic() < deadline, "no failed delivery recorded"
        time.sleep(0.2)


def trust_scoped_token(keystone: KeystoneServer, trustor: str) -> tuple[str, str]:
    """A trust from ``trustor`` to the service user, and a token the service user gets
    through it (as the notifier does): (trust id, token)."""
    client = keystone.client(trustor)
    trust = client.trusts.create(
        trustee_user=keystone.user_ids["tidings"],
        trustor_user=keystone.user_ids[trustor],
        project=keystone.project_ids[trustor],
        role_names=["member"],
        impersonation=True,
    )
    service = USERS["tidings"]
    auth = v3.Password(
        auth_url=keystone.url,
        username=service.name,
        password=service.password,
        user_domain_name=DOMAIN,
        trust_id=trust.id,
    )
    token = ks_session.Session(auth=auth).get_token()
    assert token is not None
    return trust.id, token


def test_a_delivery_carries_a_trust_scoped_token_of_the_subscriber(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    keystone = trust_suite.keystone
    queue = queue_name()
    sid = subscribe(rest, tokens["alice"], queue, "trust+" + receiver.url + "/hook", ttl=600)
    trust_id = subscription(rest, tokens["alice"], queue, sid)["options"]["trust_id"]
    trust = keystone.client("admin").trusts.get(trust_id)
    assert trust.trustor_user_id == keystone.user_ids["alice"]
    assert trust.trustee_user_id == keystone.user_ids["tidings"]
    assert trust.project_id == keystone.project_ids["alice"]
    assert trust.impersonation is True
    assert 540 < expires_in(trust) <= 600  # it ends with the subscription

    post(rest, tokens["alice"], queue, {"n": 1}, {"n": 2})
    first, second = receiver.wait_for(lambda r: len(r) >= 2, TIMEOUT)
    assert first.path == "/hook"
    assert {json.loads(r.body)["body"]["n"] for r in (first, second)} == {1, 2}
    token = first.headers["X-Auth-Token"]
    assert second.headers["X-Auth-Token"] == token  # one token per trust, reused
    info = keystone.client("admin").tokens.validate(token)
    assert info.trust_scoped
    assert info.trust_id == trust_id
    assert info.project_id == keystone.project_ids["alice"]
    assert info.user_id == keystone.user_ids["alice"]  # impersonation
    assert info.trustee_user_id == keystone.user_ids["tidings"]


def test_a_trust_id_in_the_body_is_replaced_by_one_from_the_caller(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    """bob names alice's trust in his options: he gets a trust of his own, never hers."""
    keystone = trust_suite.keystone
    queue = queue_name()
    alice_sid = subscribe(rest, tokens["alice"], queue, "trust+" + receiver.url + "/a")
    alices = subscription(rest, tokens["alice"], queue, alice_sid)["options"]["trust_id"]
    bob_sid = subscribe(
        rest,
        tokens["bob"],
        queue,
        "trust+" + receiver.url + "/b",
        options={"trust_id": alices, "keep": 1},
    )
    options = subscription(rest, tokens["bob"], queue, bob_sid)["options"]
    assert options["keep"] == 1 and options["trust_id"] != alices
    trust = keystone.client("admin").trusts.get(options["trust_id"])
    assert trust.trustor_user_id == keystone.user_ids["bob"]
    assert trust.project_id == keystone.project_ids["bob"]


def test_a_relay_into_tidings_lands_in_the_subscribers_own_project(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str]
) -> None:
    """Tempest's trust scenario, turned against tenancy: bob's trust+ subscriber posts into
    a Tidings queue with headers naming alice's project; the token, not the headers, decides
    where the message goes."""
    keystone = trust_suite.keystone
    source, target = queue_name(), queue_name()
    template = json.dumps({"messages": [{"body": "$zaqar_message$", "ttl": 60}]})
    subscribe(
        rest,
        tokens["bob"],
        source,
        f"trust+{trust_suite.api_url}/v2/queues/{target}/messages",
        options={
            "post_data": template,
            "post_headers": {
                "Client-ID": str(uuid.uuid4()),
                "X-Project-ID": keystone.project_ids["alice"],
            },
        },
    )
    post(rest, tokens["bob"], source, {"secret": "of beta"})
    deadline = time.monotonic() + TIMEOUT
    while not (messages := listed_messages(rest, tokens["bob"], target)):
        assert time.monotonic() < deadline, "the relayed message never arrived"
        time.sleep(0.2)
    [message] = messages
    assert message["body"] == {
        "body": {"secret": "of beta"},
        "ttl": 300,
        "queue_name": source,
        "Message_Type": "Notification",
    }
    assert listed_messages(rest, tokens["alice"], target) == []  # nothing reached alpha


async def store_options(
    nats_url: str, project: str, queue: str, sid: str, options: dict[str, Any]
) -> None:
    """Write a subscription's options straight into storage, past the api's checks."""
    connection = NatsConnection(nats_url, "test-trusts")
    connection.start()
    try:
        assert await connection.wait_connected(10)
        await StorageClient(connection, 5).call(
            "subscription.update",
            s.SubscriptionUpdateRequest(
                project=project, queue=queue, subscription_id=sid, options=options
            ),
            s.Empty,
        )
    finally:
        await connection.close()


def test_the_notifier_sends_no_token_of_another_project(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    """Should alice's trust id ever end up in bob's subscription (here: written into storage
    directly), the notifier still sends no alpha token to bob's receiver."""
    keystone = trust_suite.keystone
    queue = queue_name()
    alice_sid = subscribe(rest, tokens["alice"], queue, "trust+" + receiver.url + "/a")
    alices = subscription(rest, tokens["alice"], queue, alice_sid)["options"]["trust_id"]
    bob_sid = subscribe(rest, tokens["bob"], queue, "trust+" + receiver.url + "/b")
    asyncio.run(
        store_options(
            trust_suite.nats_url, keystone.project_ids["bob"], queue, bob_sid, {"trust_id": alices}
        )
    )
    post(rest, tokens["bob"], queue, "for bob")
    [failure] = wait_for_failures(rest, tokens["bob"], queue, bob_sid)
    assert "not scoped to this queue's project" in failure["last_error"]
    assert failure["attempts"] == 1  # refused at once, never retried
    assert [r for r in receiver.snapshot() if r.path == "/b"] == []


def test_a_token_failure_is_a_failed_attempt_under_the_retry_policy(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    queue = queue_name()
    sid = subscribe(rest, tokens["alice"], queue, "trust+" + receiver.url + "/gone")
    trust_id = subscription(rest, tokens["alice"], queue, sid)["options"]["trust_id"]
    trust_suite.keystone.client("alice").trusts.delete(trust_id)  # behind Tidings' back
    post(rest, tokens["alice"], queue, "undeliverable")
    [failure] = wait_for_failures(rest, tokens["alice"], queue, sid)
    assert f"Keystone refused a token for trust {trust_id}" in failure["last_error"]
    assert failure["attempts"] > 1  # retried like any failed attempt
    assert receiver.snapshot() == []


def test_deleting_the_subscription_deletes_its_trust(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    keystone = trust_suite.keystone
    queue = queue_name()
    sid = subscribe(rest, tokens["alice"], queue, "trust+" + receiver.url + "/bye")
    trust_id = subscription(rest, tokens["alice"], queue, sid)["options"]["trust_id"]
    path = f"/v2/queues/{queue}/subscriptions/{sid}"
    # Another project's delete finds nothing of alice's: her subscription and trust stay.
    assert rest.delete(path, headers=auth_headers(tokens["bob"])).status_code == 204
    assert trust_exists(keystone, trust_id)
    assert rest.delete(path, headers=auth_headers(tokens["alice"])).status_code == 204
    assert not trust_exists(keystone, trust_id)


def test_patch_keeps_the_trust_renews_it_with_the_ttl_and_drops_it_with_the_scheme(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    keystone = trust_suite.keystone
    queue = queue_name()
    sid = subscribe(rest, tokens["alice"], queue, "trust+" + receiver.url + "/p", ttl=600)
    path = f"/v2/queues/{queue}/subscriptions/{sid}"
    first = subscription(rest, tokens["alice"], queue, sid)["options"]["trust_id"]

    def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = rest.patch(path, headers=auth_headers(tokens["alice"]), json=body)
        assert response.status_code == 204, response.text
        return subscription(rest, tokens["alice"], queue, sid)

    assert patch({"options": {"a": 1}})["options"] == {"a": 1, "trust_id": first}
    renewed = patch({"ttl": 900})["options"]["trust_id"]
    assert renewed != first and not trust_exists(keystone, first)
    assert 840 < expires_in(keystone.client("admin").trusts.get(renewed)) <= 900
    assert patch({"subscriber": receiver.url + "/plain"})["options"] == {"a": 1}
    assert not trust_exists(keystone, renewed)
    again = patch({"subscriber": "trust+" + receiver.url + "/p"})["options"]["trust_id"]
    assert keystone.client("admin").trusts.get(again).project_id == keystone.project_ids["alice"]


def test_a_duplicate_subscribe_leaves_no_trust_behind(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    keystone = trust_suite.keystone
    admin = keystone.client("admin")

    def alices_trusts() -> set[str]:
        return {t.id for t in admin.trusts.list(trustor_user=keystone.user_ids["alice"])}

    before = alices_trusts()
    queue = queue_name()
    subscriber = "trust+" + receiver.url + "/twice"
    sid = subscribe(rest, tokens["alice"], queue, subscriber)
    assert subscribe(rest, tokens["alice"], queue, subscriber) == sid
    trust_id = subscription(rest, tokens["alice"], queue, sid)["options"]["trust_id"]
    assert alices_trusts() - before == {trust_id}


def test_a_token_that_cannot_delegate_gets_403(trust_suite: TrustSuite, rest: httpx.Client) -> None:
    """A trust-scoped token is a valid caller, but Keystone will not let it create a trust."""
    _, token = trust_scoped_token(trust_suite.keystone, "alice")
    queue = queue_name()
    response = rest.post(
        f"/v2/queues/{queue}/subscriptions",
        headers=auth_headers(token),
        json={"subscriber": "trust+http://127.0.0.1:9/x"},
    )
    assert response.status_code == 403, response.text
    assert response.json()["title"] == "Unable to create the trust"
    plain = rest.post(
        f"/v2/queues/{queue}/subscriptions",
        headers=auth_headers(token),
        json={"subscriber": "http://127.0.0.1:9/x"},
    )
    assert plain.status_code == 201, plain.text


async def test_a_websocket_subscriber_gets_a_trust_too(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str], receiver: HttpReceiver
) -> None:
    keystone = trust_suite.keystone
    queue = queue_name()
    ws = await WsClient.open(trust_suite.ws_url, project="ignored")
    try:
        login = ws.headers(**{"X-Auth-Token": tokens["alice"]})
        assert (await ws.call("authenticate", headers=login))[0] == 200
        status, created = await ws.call(
            "subscription_create",
            {
                "queue_name": queue,
                "subscriber": "trust+" + receiver.url + "/ws",
                "ttl": 600,
                "options": {"trust_id": "not-mine"},
            },
        )
        assert status == 201, created
        sid = created["subscription_id"]
        status, found = await ws.call(
            "subscription_get", {"queue_name": queue, "subscription_id": sid}
        )
        trust_id = found["options"]["trust_id"]
        assert trust_id != "not-mine"
        assert (
            keystone.client("admin").trusts.get(trust_id).trustor_user_id
            == (keystone.user_ids["alice"])
        )
        post(rest, tokens["alice"], queue, "over the socket")
        [got] = await asyncio.to_thread(receiver.wait_for, lambda r: len(r) >= 1, TIMEOUT)
        info = keystone.client("admin").tokens.validate(got.headers["X-Auth-Token"])
        assert info.trust_id == trust_id and info.project_id == keystone.project_ids["alice"]
        status, _ = await ws.call(
            "subscription_delete", {"queue_name": queue, "subscription_id": sid}
        )
        assert status == 204
        assert not trust_exists(keystone, trust_id)
    finally:
        await ws.close()


def test_a_pre_signed_request_cannot_subscribe_a_trust_subscriber(
    trust_suite: TrustSuite, rest: httpx.Client, tokens: dict[str, str]
) -> None:
    """A signature carries a project but no user who could delegate."""
    queue = queue_name()
    data = share(rest, tokens["alice"], queue, {"paths": ["subscriptions"], "methods": ["POST"]})
    path = f"/v2/queues/{queue}/subscriptions"
    refused = rest.post(
        path, headers=signed_headers(data), json={"subscriber": "trust+http://127.0.0.1:9/x"}
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["title"] == "Unable to create the trust"
    plain = rest.post(
        path, headers=signed_headers(data), json={"subscriber": "http://127.0.0.1:9/x"}
    )
    assert plain.status_code == 201, plain.text


def unreachable_keystone() -> KeystoneSettings:
    service = USERS["tidings"]
    return KeystoneSettings(
        keystone_auth_url=f"http://127.0.0.1:{free_port()}/v3",  # nothing listens there
        keystone_username=service.name,
        keystone_password=service.password,
        keystone_project_name=service.project,
        keystone_timeout=2.0,
    )


async def test_an_unreachable_keystone_is_a_503_for_the_subscriber() -> None:
    broker = TrustBroker(unreachable_keystone())
    with pytest.raises(ServiceUnavailable):
        await broker.create(
            "token", trustor="u", project="p", roles=frozenset({"member"}), lifetime=600
        )


async def test_an_unreachable_keystone_is_a_retryable_failure_for_the_notifier() -> None:
    tokens = TrustTokens(unreachable_keystone(), margin=60)
    with pytest.raises(TrustTokenError) as raised:
        await tokens.token("some-trust", "p")
    assert raised.value.retryable
    assert "Keystone unreachable" in str(raised.value)
