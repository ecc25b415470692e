"""Message actions (spec 5.3) in both encodings."""

from __future__ import annotations

from typing import Any

from tests.websocket.client import WsClient

OTHER_CLIENT = "550893e0-2b6e-11e3-835a-5cf9dd723690"


async def post(ws: WsClient, queue: str, *bodies: Any, ttl: int = 300) -> list[str]:
    status, body = await ws.call(
        "message_post",
        {"queue_name": queue, "messages": [{"body": b, "ttl": ttl} for b in bodies]},
    )
    assert status == 201, body
    ids: list[str] = body["message_ids"]
    return ids


async def test_post_and_get(ws: WsClient) -> None:
    ids = await post(ws, "m", {"k": "v"}, [1, 2])
    assert len(ids) == 2
    status, body = await ws.call("message_get", {"queue_name": "m", "message_id": ids[0]})
    assert status == 200
    assert body == {
        "messages": {"id": ids[0], "claim_id": None, "ttl": 300, "age": body["messages"]["age"],
                     "body": {"k": "v"}}
    }  # fmt: skip
    status, body = await ws.call("message_get", {"queue_name": "m", "message_id": "nope"})
    assert status == 404 and body["error"] == "Not found"


async def test_post_validation(ws: WsClient) -> None:
    status, body = await ws.call(
        "message_post", {"queue_name": "m", "messages": [{"body": 1, "ttl": 10}]}
    )
    assert status == 400
    assert body["exception"] == (
        "The TTL for a message may not exceed 1209600 seconds, and must be at least 60 "
        "seconds long."
    )
    status, body = await ws.call("message_post", {"queue_name": "m", "messages": [{"ttl": 60}]})
    assert (status, body["exception"]) == (400, 'Missing "body" field.')
    status, body = await ws.call("message_post", {"queue_name": "m", "messages": []})
    assert (status, body["exception"]) == (400, "No messages to enqueu.")
    big = "x" * 262144
    status, body = await ws.call("message_post", {"queue_name": "m", "messages": [{"body": big}]})
    assert status == 400 and body["exception"].startswith("Message collection size is too large")


async def test_client_id_rules(ws: WsClient) -> None:
    bad = ws.headers(**{"Client-ID": "textid"})
    status, body = await ws.call(
        "message_post", {"queue_name": "m", "messages": [{"body": 1}]}, bad
    )
    assert (status, body) == (400, {"exception": "Malformed hexadecimal UUID.",
                                    "error": "Wrong UUID value"})  # fmt: skip
    status, _ = await ws.call("message_list", {"queue_name": "m"}, bad)
    assert status == 400
    dashless = ws.headers(**{"Client-ID": "3381af922b9e11e3b19171861300734c"})
    status, _ = await ws.call("message_list", {"queue_name": "m"}, dashless)
    assert status == 200


async def test_list_with_marker_and_echo(ws: WsClient) -> None:
    ids = await post(ws, "l", *range(5))
    # Own messages are hidden unless echo is true.
    assert await ws.call("message_list", {"queue_name": "l"}) == (200, {"messages": []})
    status, body = await ws.call("message_list", {"queue_name": "l", "echo": True, "limit": 3})
    assert status == 200
    assert [m["id"] for m in body["messages"]] == ids[:3]
    assert set(body["messages"][0]) == {"id", "claim_id", "ttl", "age", "body"}
    status, rest = await ws.call(
        "message_list", {"queue_name": "l", "echo": True, "marker": body["marker"]}
    )
    assert [m["id"] for m in rest["messages"]] == ids[3:]
    status, end = await ws.call(
        "message_list", {"queue_name": "l", "echo": True, "marker": rest["marker"]}
    )
    assert end == {"messages": []}
    other = ws.headers(**{"Client-ID": OTHER_CLIENT})
    status, theirs = await ws.call("message_list", {"queue_name": "l"}, other)
    assert len(theirs["messages"]) == 5
    status, body = await ws.call("message_list", {"queue_name": "l", "limit": 0})
    assert status == 400
    assert body["exception"] == "Limit must be at least 1 and may not be greater than 20."


async def test_list_include_claimed(ws: WsClient) -> None:
    await post(ws, "c", 1, 2)
    await ws.call("claim_create", {"queue_name": "c", "limit": 1})
    _, body = await ws.call("message_list", {"queue_name": "c", "echo": True})
    assert len(body["messages"]) == 1
    _, body = await ws.call(
        "message_list", {"queue_name": "c", "echo": True, "include_claimed": True}
    )
    assert len(body["messages"]) == 2
    assert sum(1 for m in body["messages"] if m["claim_id"]) == 1


async def test_get_many(ws: WsClient) -> None:
    ids = await post(ws, "g", "a", "b")
    status, body = await ws.call(
        "message_get_many", {"queue_name": "g", "message_ids": [ids[1], "unknown"]}
    )
    assert status == 200 and [m["id"] for m in body["messages"]] == [ids[1]]
    # None found: an empty list, not a 404.
    assert await ws.call("message_get_many", {"queue_name": "g", "message_ids": ["x"]}) == (
        200,
        {"messages": []},
    )
    status, body = await ws.call(
        "message_get_many", {"queue_name": "g", "message_ids": [str(i) for i in range(21)]}
    )
    assert status == 400
    status, _ = await ws.call("message_get_many", {"queue_name": "g", "message_ids": []})
    assert status == 400


async def test_delete_rules(ws: WsClient) -> None:
    ids = await post(ws, "d", 1, 2, 3)
    assert await ws.call("message_delete", {"queue_name": "d", "message_id": ids[0]}) == (204, {})
    assert await ws.call("message_delete", {"queue_name": "d", "message_id": "gone"}) == (204, {})
    _, claim = await ws.call("claim_create", {"queue_name": "d", "limit": 1})
    held = claim["messages"][0]["id"]
    status, body = await ws.call("message_delete", {"queue_name": "d", "message_id": held})
    assert status == 403
    assert body["exception"] == (
        "This message is claimed; it cannot be deleted without a valid claim ID."
    )
    free = ids[2] if held == ids[1] else ids[1]
    status, body = await ws.call(
        "message_delete", {"queue_name": "d", "message_id": free, "claim_id": claim["claim_id"]}
    )
    assert status == 400
    assert await ws.call(
        "message_delete", {"queue_name": "d", "message_id": held, "claim_id": claim["claim_id"]}
    ) == (204, {})


async def test_delete_many_and_pop(ws: WsClient) -> None:
    ids = await post(ws, "dm", 1, 2, 3, 4)
    assert await ws.call("message_delete_many", {"queue_name": "dm", "message_ids": ids[:2]}) == (
        204,
        {},
    )
    status, body = await ws.call("message_delete_many", {"queue_name": "dm", "pop": 1})
    assert status == 200 and len(body["messages"]) == 1
    assert set(body["messages"][0]) == {"id", "age", "ttl", "claim_count", "claim_id", "body"}
    status, body = await ws.call("message_delete_many", {"queue_name": "dm"})
    assert status == 400
    assert body["exception"].startswith('The request should have either "ids" or "pop"')
    status, body = await ws.call(
        "message_delete_many", {"queue_name": "dm", "message_ids": ids, "pop": 1}
    )
    assert (status, body["exception"]) == (
        400,
        "pop and id params cannot be present together in the delete request.",
    )
    status, body = await ws.call("message_delete_many", {"queue_name": "dm", "pop": 21})
    assert status == 400
    assert body["exception"] == "Pop value must be at least 1 and may not be greater than 20."
