"""The WebSocket API in Keystone mode (spec 5.5, 6.4): ``authenticate``, frames bound to the
token's project and roles, 4003 at expiry, and pre-signed message frames."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.auth.conftest import SECRET_KEY, KeystoneSuite
from tests.fixtures.keystone import KeystoneServer
from tests.websocket.client import WsClient
from tidings.common import signed_url as su


async def open_socket(keystone_suite: KeystoneSuite, opened: list[WsClient]) -> WsClient:
    client = await WsClient.open(keystone_suite.ws_url, project="header-project")
    opened.append(client)
    return client


async def login(client: WsClient, token: str) -> tuple[int, Any]:
    return await client.call("authenticate", headers=client.headers(**{"X-Auth-Token": token}))


def queue_name() -> str:
    return f"w-{uuid.uuid4().hex[:10]}"


async def test_nothing_but_authenticate_is_served_before_a_valid_token(
    keystone_suite: KeystoneSuite, ws_open: list[WsClient], tokens: dict[str, str]
) -> None:
    ws = await open_socket(keystone_suite, ws_open)
    for action, body in [("queue_list", {}), ("queue_create", {"queue_name": "q"}),
                         ("ping_node", None), ("get_home_doc", None)]:  # fmt: skip
        assert await ws.call(action, body) == (403, {"error": "Not authentified."})
    real = tokens["alice"]
    for bad in ["nonsense", real[:-8], real + "x", ""]:
        assert await login(ws, bad) == (401, {"error": "Authentication failed."})
        assert ws.last["request"] == {"action": "authenticate", "body": {}, "headers": {},
                                      "api": "v2"}  # fmt: skip
        assert (await ws.call("queue_list", {}))[0] == 403
    assert await login(ws, real) == (200, {"message": "Authentified."})
    assert (await ws.call("queue_list", {}))[0] == 200
    # A failed re-authentication ends the session it replaced.
    assert (await login(ws, "nonsense"))[0] == 401
    assert (await ws.call("queue_list", {}))[0] == 403


async def test_frames_act_for_the_tokens_project_whatever_their_headers_say(
    keystone_suite: KeystoneSuite, ws_open: list[WsClient], tokens: dict[str, str]
) -> None:
    alice = await open_socket(keystone_suite, ws_open)
    bob = await open_socket(keystone_suite, ws_open)
    assert (await login(alice, tokens["alice"]))[0] == 200
    assert (await login(bob, tokens["bob"]))[0] == 200
    queue = queue_name()
    # Alice names Bob's project in the frame header.
    spoofed = alice.headers(**{"X-Project-ID": keystone_suite.project("bob")})
    status, body = await alice.call(
        "message_post",
        {"queue_name": queue, "messages": [{"body": "secret", "ttl": 300}]},
        headers=spoofed,
    )
    assert status == 201
    message_id = body["message_ids"][0]
    status, listed = await bob.call("message_list", {"queue_name": queue, "echo": True})
    assert (status, listed["messages"]) == (200, [])
    assert (await bob.call("message_get", {"queue_name": queue, "message_id": message_id}))[
        0
    ] == 404
    status, mine = await alice.call("message_get", {"queue_name": queue, "message_id": message_id})
    assert (status, mine["messages"]["body"]) == (200, "secret")


async def test_another_tenants_ids_markers_and_claims_are_out_of_reach(
    keystone_suite: KeystoneSuite, ws_open: list[WsClient], tokens: dict[str, str]
) -> None:
    alice = await open_socket(keystone_suite, ws_open)
    bob = await open_socket(keystone_suite, ws_open)
    await login(alice, tokens["alice"])
    await login(bob, tokens["bob"])
    queue = queue_name()
    messages = [{"body": n, "ttl": 300} for n in range(3)]
    _, posted = await alice.call("message_post", {"queue_name": queue, "messages": messages})
    ids = posted["message_ids"]
    status, claim = await alice.call("claim_create", {"queue_name": queue, "ttl": 300, "limit": 1})
    assert status == 201
    claim_id = claim["claim_id"]
    attacks: list[tuple[str, dict[str, Any], int]] = [
        ("message_get", {"queue_name": queue, "message_id": ids[0]}, 404),
        ("claim_get", {"queue_name": queue, "claim_id": claim_id}, 404),
        ("claim_update", {"queue_name": queue, "claim_id": claim_id, "ttl": 100}, 404),
    ]
    for action, body, expected in attacks:
        assert (await bob.call(action, body))[0] == expected, action
    status, many = await bob.call("message_get_many", {"queue_name": queue, "message_ids": ids})
    assert (status, many["messages"]) == (200, [])
    status, page = await bob.call("message_list", {"queue_name": queue, "marker": "0"})
    assert page["messages"] == []
    await bob.call("claim_delete", {"queue_name": queue, "claim_id": claim_id})
    await bob.call("message_delete_many", {"queue_name": queue, "message_ids": ids})
    await bob.call("queue_delete", {"queue_name": queue})
    # Everything of Alice's is where she left it.
    status, held = await alice.call("claim_get", {"queue_name": queue, "claim_id": claim_id})
    assert (status, held["ttl"]) == (200, 300)
    _, still = await alice.call("message_get_many", {"queue_name": queue, "message_ids": ids})
    assert sorted(m["id"] for m in still["messages"]) == sorted(ids)


async def test_roles_come_from_the_token(
    keystone_suite: KeystoneSuite, ws_open: list[WsClient], tokens: dict[str, str]
) -> None:
    alice = await open_socket(keystone_suite, ws_open)
    admin = await open_socket(keystone_suite, ws_open)
    await login(alice, tokens["alice"])
    await login(admin, tokens["admin"])
    claimed = alice.headers(**{"X-Roles": "admin"})
    assert (await alice.call("check_node_health", headers=claimed))[0] == 403
    assert (await admin.call("check_node_health"))[0] == 200


async def test_the_socket_closes_with_4003_when_the_token_expires(
    keystone_suite: KeystoneSuite, keystone: KeystoneServer, ws_open: list[WsClient]
) -> None:
    token = await asyncio.to_thread(keystone.short_lived_token, "alice", 3)
    ws = await open_socket(keystone_suite, ws_open)
    assert (await login(ws, token))[0] == 200
    assert (await ws.call("queue_list", {}))[0] == 200
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            await ws.ws.wait_closed()
            await ws.ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4003, "Authentication expired.")


def frame_signature(project: str, queue: str, methods: list[str], key: str = SECRET_KEY) -> Any:
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
    data = su.create(key, [f"/v2/queues/{queue}/messages"], methods, project, expires)
    return {
        "URL-Signature": data.signature,
        "URL-Expires": data.expires,
        "URL-Methods": data.methods,
        "URL-Paths": data.paths,
        "X-Project-ID": project,
    }


def forged(signature: str) -> str:
    """The signature with its last digit changed."""
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")


async def test_signed_frames_do_only_what_was_signed(
    keystone_suite: KeystoneSuite, ws_open: list[WsClient], tokens: dict[str, str]
) -> None:
    ws = await open_socket(keystone_suite, ws_open)  # never authenticated
    project = keystone_suite.project("alice")
    queue = queue_name()
    signed = ws.headers(**frame_signature(project, queue, ["GET", "POST"]))
    post = {"queue_name": queue, "messages": [{"body": "signed", "ttl": 300}]}
    status, body = await ws.call("message_post", post, headers=signed)
    assert status == 201
    status, listed = await ws.call(
        "message_list", {"queue_name": queue, "echo": True}, headers=signed
    )
    assert [m["body"] for m in listed["messages"]] == ["signed"]
    refused: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        # The queue in the body must be the signed one (Zaqar did not check, spec 9.17).
        ("message_list", {"queue_name": "other"}, signed),
        ("message_post", {**post, "queue_name": "other"}, signed),
        # Not signed for DELETE; not a message action at all.
        ("message_delete_many", {"queue_name": queue, "pop": 1}, signed),
        ("queue_delete", {"queue_name": queue}, signed),
        ("claim_create", {"queue_name": queue}, signed),
        # Forged, empty, for another project, with a key the server does not have.
        ("message_list", {"queue_name": queue},
         {**signed, "URL-Signature": forged(signed["URL-Signature"])}),
        ("message_list", {"queue_name": queue}, {**signed, "URL-Signature": ""}),
        ("message_list", {"queue_name": queue},
         {**signed, "X-Project-ID": keystone_suite.project("bob")}),
        ("message_list", {"queue_name": queue},
         ws.headers(**frame_signature(project, queue, ["GET"], key="guess"))),
        # Lists as comma strings are REST's form, not a frame's.
        ("message_list", {"queue_name": queue},
         {**signed, "URL-Methods": "GET,POST"}),
    ]  # fmt: skip
    for action, body, headers in refused:
        assert await ws.call(action, body, headers=headers) == (
            403,
            {"error": "Not authentified."},
        ), (action, body, headers)
    # And what was posted is Alice's.
    alice = await open_socket(keystone_suite, ws_open)
    await login(alice, tokens["alice"])
    _, mine = await alice.call("message_list", {"queue_name": queue, "echo": True})
    assert [m["body"] for m in mine["messages"]] == ["signed"]
