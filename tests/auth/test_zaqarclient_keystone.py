"""python-zaqarclient, unchanged, in Keystone mode: its ``keystone`` auth backend over REST
(it fetches its own token with the user's password), its WebSocket transport with a token,
and its ``signed_url`` backend with data from ``Queue.signed_url``."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from zaqarclient.queues import client as zaqar
from zaqarclient.transport import errors, get_transport_for
from zaqarclient.transport.request import Request

from tests.auth.conftest import KeystoneSuite
from tests.fixtures.keystone import DOMAIN, USERS


def keystone_client(keystone_suite: KeystoneSuite, user: str) -> zaqar.Client:
    who = USERS[user]
    options = {
        "os_auth_url": keystone_suite.keystone.url,
        "os_username": who.name,
        "os_password": who.password,
        "os_project_name": who.project,
        "os_user_domain_name": DOMAIN,
        "os_project_domain_name": DOMAIN,
    }
    conf = {"auth_opts": {"backend": "keystone", "options": options}}
    return zaqar.Client(keystone_suite.api_url, version=2, conf=conf)


def queue_names(client: zaqar.Client) -> list[str]:
    return [q.name for q in client.queues()[0].stream()]


def signed_client(keystone_suite: KeystoneSuite, data: dict[str, Any]) -> zaqar.Client:
    options = {**data, "os_project_id": data["project"]}
    conf = {"auth_opts": {"backend": "signed-url", "options": options}}
    return zaqar.Client(keystone_suite.api_url, version=2, conf=conf)


def test_the_rest_client_with_keystone_credentials(keystone_suite: KeystoneSuite) -> None:
    alice = keystone_client(keystone_suite, "alice")
    bob = keystone_client(keystone_suite, "bob")
    name = f"zq-{uuid.uuid4().hex[:8]}"
    queue = alice.queue(name, force_create=True)
    queue.post([{"body": {"n": n}, "ttl": 300} for n in range(3)])
    assert sorted(m.body["n"] for m in queue.messages(echo=True)) == [0, 1, 2]
    claim = queue.claim(ttl=60, grace=60, limit=2)
    claimed = list(claim)
    assert len(claimed) == 2
    for message in claimed:
        message.delete()
    assert queue.stats["messages"]["total"] == 1
    assert name in queue_names(alice)
    # Bob's client sees none of it.
    assert name not in queue_names(bob)
    assert list(bob.queue(name, auto_create=False).messages(echo=True)) == []
    with pytest.raises(errors.ResourceNotFound):
        bob.queue(name, auto_create=False).message(claimed[0].id)
    # Admin-only: Alice's roles do not include admin.
    with pytest.raises(errors.ForbiddenError):
        alice.health()
    assert keystone_client(keystone_suite, "admin").health()["storage_reachable"] is True


def test_signed_url_data_drives_the_signed_url_backend(keystone_suite: KeystoneSuite) -> None:
    alice = keystone_client(keystone_suite, "alice")
    name = f"zs-{uuid.uuid4().hex[:8]}"
    queue = alice.queue(name, force_create=True)
    data = queue.signed_url(paths=["messages"], ttl_seconds=600, methods=["GET", "POST"])
    assert data["project"] == keystone_suite.project("alice")
    shared = signed_client(keystone_suite, data).queue(name, auto_create=False)
    shared.post([{"body": "from a signed url", "ttl": 300}])
    assert [m.body for m in queue.messages(echo=True)] == ["from a signed url"]
    assert [m.body for m in shared.messages(echo=True)] == ["from a signed url"]
    # The signature is for messages only.
    with pytest.raises(errors.ResourceNotFound):
        shared.stats  # noqa: B018 (a property that calls the server)
    # And for this queue only.
    other = signed_client(keystone_suite, data).queue("other", auto_create=False)
    with pytest.raises(errors.ResourceNotFound):
        list(other.messages())


def _websocket_session(url: str, token: str, project: str) -> dict[str, Any]:
    options = {"os_auth_token": token, "os_project_id": project}
    conf = {"auth_opts": {"backend": "keystone", "options": options}}
    seen: dict[str, Any] = {}
    with get_transport_for(url, version=2, options=conf) as transport:

        def send(operation: str, body: dict[str, Any]) -> Any:
            response = transport.send(Request(url, operation, content=json.dumps(body)))
            return response.deserialized_content

        queue = f"zw-{uuid.uuid4().hex[:8]}"
        send("queue_create", {"queue_name": queue})
        posted = send("message_post", {"queue_name": queue, "messages": [{"body": 1, "ttl": 60}]})
        seen["posted"] = posted["message_ids"]
        seen["listed"] = send("message_list", {"queue_name": queue, "echo": True})["messages"]
        seen["queue"] = queue
    return seen


async def test_the_websocket_transport_with_a_token(
    keystone_suite: KeystoneSuite, tokens: dict[str, str]
) -> None:
    # The project option is sent as X-Project-ID in every frame; the token's project wins.
    seen = await asyncio.to_thread(
        _websocket_session, keystone_suite.ws_url, tokens["alice"], keystone_suite.project("bob")
    )
    assert [m["id"] for m in seen["listed"]] == seen["posted"]
    bob = keystone_client(keystone_suite, "bob")
    assert seen["queue"] not in queue_names(bob)
    alice = keystone_client(keystone_suite, "alice")
    assert seen["queue"] in queue_names(alice)
    with pytest.raises(errors.UnauthorizedError):
        await asyncio.to_thread(_websocket_session, keystone_suite.ws_url, "not-a-token", "any")
