"""Queue actions (spec 5.3) in both encodings."""

from __future__ import annotations

from tests.websocket.client import WsClient


async def test_create_then_exists(ws: WsClient) -> None:
    assert await ws.call("queue_create", {"queue_name": "q1", "metadata": {"a": 1}}) == (
        201,
        "Queue q1 created.",
    )
    # Existing queue: 204, metadata not updated.
    assert await ws.call("queue_create", {"queue_name": "q1", "metadata": {"a": 2}}) == (
        204,
        "Queue q1 created.",
    )
    assert await ws.call("queue_get", {"queue_name": "q1"}) == (200, {"a": 1})


async def test_create_validation(ws: WsClient) -> None:
    status, body = await ws.call("queue_create", {"queue_name": "x" * 65})
    assert status == 400 and body["error"] == "Invalid queue identification"
    status, body = await ws.call(
        "queue_create", {"queue_name": "q", "metadata": {"_default_message_ttl": 5}}
    )
    assert status == 400
    assert body == {
        "exception": "_default_message_ttl can not exceed 1209600 seconds, and must be at "
        "least 60 seconds long.",
        "error": "Invalid API request",
    }
    status, body = await ws.call(
        "queue_create", {"queue_name": "q", "metadata": {"big": "x" * 70000}}
    )
    assert status == 400
    assert body["exception"] == "Queue metadata is too large. Max size: 65536"


async def test_get_missing_queue_is_empty(ws: WsClient) -> None:
    assert await ws.call("queue_get", {"queue_name": "never"}) == (200, {})


async def test_list(ws: WsClient) -> None:
    for name in ("b", "a", "c"):
        await ws.call("queue_create", {"queue_name": name, "metadata": {"n": name}})
    assert await ws.call("queue_list", {}) == (
        200,
        {"queues": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
    )
    status, body = await ws.call("queue_list", {"limit": 1, "marker": "a", "detailed": True})
    assert (status, body) == (200, {"queues": [{"name": "b", "metadata": {"n": "b"}}]})
    # No body at all is fine for queue_list.
    assert (await ws.call("queue_list"))[0] == 200
    status, body = await ws.call("queue_list", {"limit": 21})
    assert status == 400
    assert body["exception"] == "Limit must be at least 1 and no greater than 20."


async def test_delete(ws: WsClient) -> None:
    await ws.call("queue_create", {"queue_name": "gone"})
    assert await ws.call("queue_delete", {"queue_name": "gone"}) == (204, "Queue gone removed.")
    assert await ws.call("queue_delete", {"queue_name": "gone"}) == (204, "Queue gone removed.")
    assert await ws.call("queue_list", {}) == (200, {"queues": []})


async def test_stats(ws: WsClient) -> None:
    missing = await ws.call("queue_get_stats", {"queue_name": "nope"})
    assert missing == (404, {"messages": {"claimed": 0, "free": 0, "total": 0}})
    await ws.call("queue_create", {"queue_name": "s"})
    assert await ws.call("queue_get_stats", {"queue_name": "s"}) == (
        200,
        {"messages": {"claimed": 0, "free": 0, "total": 0}},
    )
    await ws.call("message_post", {"queue_name": "s", "messages": [{"body": 1}, {"body": 2}]})
    await ws.call("claim_create", {"queue_name": "s", "limit": 1})
    status, body = await ws.call("queue_get_stats", {"queue_name": "s"})
    assert status == 200
    stats = body["messages"]
    assert (stats["claimed"], stats["free"], stats["total"]) == (1, 1, 2)
    assert set(stats["oldest"]) == {"id", "age", "created"}
    assert stats["oldest"]["created"].endswith("Z")
    assert stats["oldest"]["id"] != stats["newest"]["id"]


async def test_purge(ws: WsClient) -> None:
    await ws.call("message_post", {"queue_name": "p", "messages": [{"body": 1}]})
    assert await ws.call("queue_purge", {"queue_name": "p"}) == (204, {})
    stats = await ws.call("queue_get_stats", {"queue_name": "p"})
    assert stats[1]["messages"]["total"] == 0
    assert await ws.call("queue_purge", {"queue_name": "p", "resource_types": ["messages"]}) == (
        204,
        {},
    )
    status, body = await ws.call("queue_purge", {"queue_name": "p", "resource_types": ["x"]})
    assert status == 400 and body["error"] == "Invalid API request"


async def test_projects_are_isolated(ws: WsClient) -> None:
    await ws.call("queue_create", {"queue_name": "mine", "metadata": {"k": 1}})
    other = ws.headers(**{"X-Project-ID": ws.project + "-other"})
    assert await ws.call("queue_get", {"queue_name": "mine"}, other) == (200, {})
    assert await ws.call("queue_list", {}, other) == (200, {"queues": []})
