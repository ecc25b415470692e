"""Socket subscriptions (spec 5.6): actions, pushes through two replicas, cleanup on close."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.websocket.client import WsClient
from tests.websocket.conftest import ClientFactory, WsSuite, rest_headers


async def test_subscription_actions(ws: WsClient) -> None:
    status, body = await ws.call("subscription_create", {"queue_name": "s", "ttl": 600,
                                                         "options": {"k": "v"}})  # fmt: skip
    assert status == 201
    sid = body["subscription_id"]
    assert body == {"subscription_id": sid, "message": "Subscription s created."}
    status, got = await ws.call("subscription_get", {"queue_name": "s", "subscription_id": sid})
    assert status == 200
    assert got["id"] == sid and got["source"] == "s" and got["ttl"] == 600
    assert got["options"] == {"k": "v"} and got["subscriber"].startswith("websocket://")
    assert set(got) == {"id", "source", "subscriber", "ttl", "age", "options", "confirmed"}
    assert await ws.call("subscription_list", {"queue_name": "s"}) == (
        200,
        {"subscriptions": [got]},
    )
    # Subscriptions are unique per queue and socket.
    assert await ws.call("subscription_create", {"queue_name": "s"}) == (
        409,
        {"exception": "Subscription s not created.", "error": "Resource conflict"},
    )
    assert await ws.call("subscription_delete", {"queue_name": "s", "subscription_id": sid}) == (
        204,
        f"Subscription {sid} removed.",
    )
    status, body = await ws.call("subscription_get", {"queue_name": "s", "subscription_id": sid})
    assert status == 404 and body["error"] == "Not found"
    assert await ws.call("subscription_list", {"queue_name": "s"}) == (200, {"subscriptions": []})
    # Subscribing created the queue (queues are lazy).
    status, queues = await ws.call("queue_list", {})
    assert queues == {"queues": [{"name": "s"}]}


async def test_subscription_validation(ws: WsClient) -> None:
    status, body = await ws.call("subscription_create", {"queue_name": "s", "ttl": 59})
    assert (status, body["exception"]) == (
        400,
        "The TTL for a subscription must be at least 60 seconds long.",
    )
    status, body = await ws.call("subscription_create", {"queue_name": "s", "options": {
        "_retry_policy": "fast"}})  # fmt: skip
    assert (status, body["exception"]) == (400, "retry_policy must be a dict.")
    status, body = await ws.call("subscription_create", {"queue_name": "s", "subscriber": "fake"})
    assert (status, body["error"]) == (400, "Invalid API request")
    assert body["exception"].startswith("The subscriber type of subscription must be supported")


async def test_stored_subscriptions_with_a_subscriber(ws: WsClient, rest: httpx.Client) -> None:
    hook = "http://127.0.0.1:9/hook"
    status, body = await ws.call(
        "subscription_create", {"queue_name": "w", "subscriber": hook, "ttl": 600}
    )
    assert status == 201 and body["message"] == "Subscription w created."
    sid = body["subscription_id"]
    # The same storage as REST: REST sees it, and its duplicate rules hold over WebSocket.
    response = await asyncio.to_thread(
        rest.get, "/v2/queues/w/subscriptions", headers=rest_headers(ws.project)
    )
    listed = response.json()
    assert [item["id"] for item in listed["subscriptions"]] == [sid]
    assert await ws.call("subscription_create", {"queue_name": "w", "subscriber": hook}) == (
        409,
        {"exception": "Subscription w not created.", "error": "Resource conflict"},
    )
    status, got = await ws.call("subscription_get", {"queue_name": "w", "subscription_id": sid})
    assert status == 200
    assert got == {
        "id": sid,
        "source": "w",
        "subscriber": hook,
        "ttl": 600,
        "age": got["age"],
        "options": {},
        "confirmed": False,
    }
    status, socket_sub = await ws.call("subscription_create", {"queue_name": "w"})
    status, listing = await ws.call("subscription_list", {"queue_name": "w"})
    assert [item["id"] for item in listing["subscriptions"]] == [
        socket_sub["subscription_id"],
        sid,
    ]
    assert await ws.call("subscription_delete", {"queue_name": "w", "subscription_id": sid}) == (
        204,
        f"Subscription {sid} removed.",
    )
    status, body = await ws.call("subscription_get", {"queue_name": "w", "subscription_id": sid})
    assert status == 404


def rest_post(rest: httpx.Client, project: str, queue: str, *bodies: object) -> list[str]:
    response = rest.post(
        f"/v2/queues/{queue}/messages",
        headers=rest_headers(project),
        json={"messages": [{"body": body, "ttl": 300} for body in bodies]},
    )
    assert response.status_code == 201, response.text
    return [href.rsplit("/", 1)[1] for href in response.json()["resources"]]


async def test_pushes_reach_sockets_on_both_replicas(
    ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    on_first = await ws_factory(replica=0)
    on_second = await ws_factory(replica=1, binary=True, project=on_first.project)
    poster = await ws_factory(replica=0, project=on_first.project)
    for client in (on_first, on_second):
        assert (await client.call("subscription_create", {"queue_name": "live"}))[0] == 201

    ids = rest_post(rest, on_first.project, "live", {"n": 0}, {"n": 1})
    status, body = await poster.call(
        "message_post",
        {"queue_name": "live", "messages": [{"body": {"n": 2}, "ttl": 120}]},
    )
    assert status == 201
    ids += body["message_ids"]
    ids += rest_post(rest, on_first.project, "live", {"n": 3})

    for client in (on_first, on_second):
        pushed = await client.pushes_of(4)
        assert [p["message_id"] for p in pushed] == ids
        assert [p["body"] for p in pushed] == [{"n": i} for i in range(4)]
        assert pushed[2] == {
            "body": {"n": 2},
            "ttl": 120,
            "queue_name": "live",
            "Message_Type": "Notification",
            "message_id": ids[2],
            "marker": pushed[2]["marker"],
        }
        markers = [int(p["marker"]) for p in pushed]
        assert markers == sorted(markers)
        await client.no_push(0.3)
    # A push goes out in the encoding of the subscription_create request.
    assert on_second.raw_kinds[-1] is bytes
    assert on_first.raw_kinds[-1] is str
    await poster.no_push(0.1)  # not subscribed: nothing


async def test_pushes_stay_within_project_and_queue(
    ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    mine = await ws_factory()
    other_project = await ws_factory(replica=1)
    await mine.call("subscription_create", {"queue_name": "q"})
    await other_project.call("subscription_create", {"queue_name": "q"})
    rest_post(rest, mine.project, "other-queue", 1)
    rest_post(rest, mine.project, "q", 2)
    assert (await mine.push())["body"] == 2
    await mine.no_push(0.3)
    await other_project.no_push(0.3)


async def test_no_pushes_after_subscription_delete(
    ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    client = await ws_factory()
    _, body = await client.call("subscription_create", {"queue_name": "d"})
    await client.call(
        "subscription_delete", {"queue_name": "d", "subscription_id": body["subscription_id"]}
    )
    rest_post(rest, client.project, "d", 1)
    await client.no_push(0.5)


async def wait_for_metric(
    ws_suite: WsSuite, replica: int, name: str, value: float, timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while (current := ws_suite.metric(replica, name)) != value:
        assert time.monotonic() < deadline, f"{name} stayed {current}, expected {value}"
        await asyncio.sleep(0.1)


async def test_subscriptions_vanish_when_the_socket_closes(
    ws_suite: WsSuite, ws_factory: ClientFactory
) -> None:
    gauge = "tidings_websocket_queue_subscriptions"
    await wait_for_metric(ws_suite, 1, gauge, 0)  # earlier tests' sockets are gone
    first = await ws_factory(replica=1)
    second = await ws_factory(replica=1, project=first.project)
    await first.call("subscription_create", {"queue_name": "a"})
    await second.call("subscription_create", {"queue_name": "a"})
    await first.call("subscription_create", {"queue_name": "b"})
    # One NATS subscription per queue per replica, whatever the number of sockets.
    assert ws_suite.metric(1, gauge) == 2
    await first.close()
    await wait_for_metric(ws_suite, 1, gauge, 1)
    await second.close()
    await wait_for_metric(ws_suite, 1, gauge, 0)
