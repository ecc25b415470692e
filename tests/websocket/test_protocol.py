"""Framing (spec 5.1) and the generic errors of spec 5.2, over a real socket, in JSON and
MessagePack; every reply comes back in the encoding of its request."""

from __future__ import annotations

import json

import msgpack
import pytest

from tests.websocket.client import WsClient
from tests.websocket.conftest import ClientFactory, WsSuite


async def test_reply_envelope_echoes_the_request(ws: WsClient) -> None:
    body = {"queue_name": "envelope"}
    status, answer = await ws.call("queue_create", body)
    assert status == 201
    assert answer == "Queue envelope created."
    assert ws.last == {
        "request": {"action": "queue_create", "body": body, "headers": ws.headers(), "api": "v2"},
        "body": answer,
        "headers": {"status": 201},
    }
    assert ws.raw_kinds[-1] is (bytes if ws.binary else str)


async def test_reply_encoding_follows_each_request(ws_factory: ClientFactory) -> None:
    client = await ws_factory()
    await client.call("queue_list", {}, binary=True)
    await client.call("queue_list", {}, binary=False)
    assert client.raw_kinds == [bytes, str]


async def test_any_url_path_is_accepted(ws_suite: WsSuite) -> None:
    client = await WsClient.open(ws_suite.ws_url(0, "/some/path?x=1"))
    try:
        status, _ = await client.call("queue_list", {})
        assert status == 200
    finally:
        await client.close()


async def test_undecodable_text_frame(ws_factory: ClientFactory) -> None:
    client = await ws_factory()
    reply = await client.send_raw("{not json")
    assert reply["headers"] == {"status": 400}
    assert reply["request"] == {"action": None, "body": {}, "headers": {}, "api": "v2"}
    error = reply["body"]["error"]
    assert error.startswith("Can't decode text (JSON) request. JSONDecodeError: ")
    assert client.raw_kinds == [str]


async def test_undecodable_binary_frame(ws_factory: ClientFactory) -> None:
    client = await ws_factory()
    reply = await client.send_raw(b"\xc1")  # a byte MessagePack never uses
    assert reply["headers"] == {"status": 400}
    assert reply["request"]["action"] is None
    assert reply["body"]["error"].startswith("Can't decode binary (MessagePack) request. ")
    assert client.raw_kinds == [bytes]


@pytest.mark.parametrize("value", [[1, 2], "text", 42, None])
async def test_frame_that_is_not_an_object(ws: WsClient, value: object) -> None:
    data = msgpack.packb(value) if ws.binary else json.dumps(value)
    reply = await ws.send_raw(data)
    assert reply["headers"] == {"status": 400}
    assert reply["body"] == {"error": "Unexpected body type. Expected dict or dict like."}


async def test_integer_beyond_64_bits_is_undecodable(ws_factory: ClientFactory) -> None:
    client = await ws_factory()
    reply = await client.send_raw('{"action": "queue_list", "n": 99999999999999999999}')
    assert reply["headers"] == {"status": 400}
    assert "integer that is too large" in reply["body"]["error"]


@pytest.mark.parametrize("action", ["queue_explode", "", "authenticatex"])
async def test_unknown_action(ws: WsClient, action: str) -> None:
    status, body = await ws.call(action, {})
    assert (status, body) == (400, {"error": f"{action} is not a valid action"})


async def test_missing_action(ws: WsClient) -> None:
    reply = await ws.frame({"headers": ws.headers(), "body": {}})
    assert reply["headers"] == {"status": 400}
    assert reply["body"] == {"error": "None is not a valid action"}


SCHEMA_FAILED = {"error": "Schema validation failed."}


@pytest.mark.parametrize(
    ("action", "body", "headers"),
    [
        ("queue_create", {"queue_name": "q"}, {"X-Project-ID": "p"}),  # no Client-ID
        ("queue_create", {"queue_name": "q"}, {"Client-ID": "c"}),  # no X-Project-ID
        ("queue_create", {"queue_name": "q"}, None),  # headers not an object
        ("queue_create", None, "default"),  # no body
        ("queue_create", {}, "default"),  # no queue_name
        ("queue_create", {"queue_name": 5}, "default"),  # wrong type
        ("queue_create", {"queue_name": "q", "metadata": []}, "default"),
        ("queue_create", ["queue_name"], "default"),  # body not an object
        ("queue_list", {"limit": "5"}, "default"),
        ("queue_list", {"detailed": 1}, "default"),
        ("message_list", {"queue_name": "q", "echo": "yes"}, "default"),
        ("message_post", {"queue_name": "q"}, "default"),
        ("message_post", {"queue_name": "q", "messages": {}}, "default"),
        ("message_get", {"queue_name": "q"}, "default"),
        ("message_get_many", {"queue_name": "q", "message_ids": "a,b"}, "default"),
        ("message_delete", {"queue_name": "q"}, "default"),
        ("message_delete_many", {"queue_name": "q", "pop": "1"}, "default"),
        ("claim_create", {"queue_name": "q", "ttl": "60"}, "default"),
        ("claim_create", {"queue_name": "q", "limit": True}, "default"),
        ("claim_get", {"queue_name": "q"}, "default"),
        ("claim_update", {"queue_name": "q", "claim_id": 1}, "default"),
        ("claim_delete", {"queue_name": "q"}, "default"),
        ("subscription_create", {"queue_name": "q", "ttl": "3600"}, "default"),
        ("subscription_get", {"queue_name": "q"}, "default"),
        ("subscription_delete", {"queue_name": "q"}, "default"),
        ("queue_purge", {"queue_name": "q", "resource_types": "messages"}, "default"),
        ("ping_node", None, {"X-Project-ID": "p", "Client-ID": 5}),  # header of wrong type
        ("authenticate", None, {"X-Project-ID": "p"}),  # no X-Auth-Token
    ],
)
async def test_schema_validation_failed(
    ws: WsClient, action: str, body: object, headers: object
) -> None:
    frame: dict[str, object] = {"action": action}
    if headers == "default":
        frame["headers"] = ws.headers()
    elif headers is not None:
        frame["headers"] = headers
    else:
        frame["headers"] = "not an object"
    if body is not None:
        frame["body"] = body
    reply = await ws.frame(frame)
    assert reply["headers"] == {"status": 400}
    assert reply["body"] == SCHEMA_FAILED


async def test_extra_header_and_body_keys_pass_the_schema(ws: WsClient) -> None:
    status, _ = await ws.call(
        "queue_create", {"queue_name": "extra", "colour": "blue"}, ws.headers(**{"X-Other": "1"})
    )
    assert status == 201


async def test_handler_error_body_shape(ws: WsClient) -> None:
    status, body = await ws.call("queue_create", {"queue_name": "bad name!"})
    assert status == 400
    assert body == {
        "exception": "The format of the submitted queue name or project id is not valid.",
        "error": "Invalid queue identification",
    }


async def test_authenticate_in_noauth_mode_is_accepted_and_not_echoed(ws: WsClient) -> None:
    headers = {"X-Auth-Token": "secret-token", "X-Project-ID": ws.project}
    status, body = await ws.call("authenticate", None, headers)
    assert (status, body) == (200, {"message": "Authentified."})
    assert ws.last["request"] == {
        "action": "authenticate",
        "body": {},
        "headers": {},
        "api": "v2",
    }


async def test_socket_survives_errors(ws: WsClient) -> None:
    await ws.send_raw("garbage" if not ws.binary else b"\xc1")
    await ws.call("nope", {})
    status, _ = await ws.call("queue_list", {})
    assert status == 200
