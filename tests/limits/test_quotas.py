"""Quotas through the running suite: REST answers 429 with Retry-After and a Zaqar body, the
WebSocket API answers 429 frames, room freed by deletes comes back after Retry-After, and the
storage counter of refusals moves."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.limits.conftest import (
    BYTE_QUOTA,
    MESSAGE_QUOTA,
    QUEUE_QUOTA,
    RECOUNT_INTERVAL,
    LimitedSuite,
)
from tests.ops.conftest import scrape
from tests.websocket.client import WsClient

CLIENT_ID = str(uuid.uuid4())


def http(limited: LimitedSuite, project: str) -> httpx.Client:
    return httpx.Client(
        base_url=limited.api[0].url,
        headers={"Client-ID": CLIENT_ID, "X-Project-ID": project},
        timeout=10,
    )


def assert_refused(response: httpx.Response, title: str) -> None:
    assert response.status_code == 429, response.text
    # storage's recount interval, carried through the RPC error into the header
    assert response.headers["Retry-After"] == str(RECOUNT_INTERVAL)
    body = response.json()
    assert body["title"] == title
    assert isinstance(body["description"], str) and body["description"]


def rejections(limited: LimitedSuite, kind: str) -> float:
    return scrape(limited.storage).value("tidings_quota_rejections_total", kind=kind)


def test_message_quota_answers_429_until_deletes_make_room(limited_suite: LimitedSuite) -> None:
    before = rejections(limited_suite, "messages")
    with http(limited_suite, limited_suite.messages_project) as client:
        posted = client.post(
            "/v2/queues/q/messages", json={"messages": [{"body": i} for i in range(3)]}
        )
        assert posted.status_code == 201, posted.text
        refused = client.post(
            "/v2/queues/q/messages", json={"messages": [{"body": i} for i in range(3)]}
        )
        assert_refused(refused, "Quota exceeded: messages")
        assert f"at most {MESSAGE_QUOTA} messages" in refused.json()["description"]
        # the other api replica shares the storage, and so the quota
        other = client.post(
            f"{limited_suite.api[1].url}/v2/queues/other/messages",
            json={"messages": [{"body": 1}] * 3},
        )
        assert_refused(other, "Quota exceeded: messages")
        ids = [ref.rsplit("/", 1)[1] for ref in posted.json()["resources"]]
        deleted = client.delete("/v2/queues/q/messages", params={"ids": ",".join(ids)})
        assert deleted.status_code == 204
        time.sleep(int(refused.headers["Retry-After"]))
        again = client.post(
            "/v2/queues/q/messages", json={"messages": [{"body": i} for i in range(5)]}
        )
        assert again.status_code == 201, again.text
    assert rejections(limited_suite, "messages") == before + 2


def test_queue_quota_answers_429_on_create_and_lazy_post(limited_suite: LimitedSuite) -> None:
    before = rejections(limited_suite, "queues")
    with http(limited_suite, limited_suite.queues_project) as client:
        for i in range(QUEUE_QUOTA):
            assert client.put(f"/v2/queues/q{i}", json={}).status_code == 201
        assert_refused(client.put("/v2/queues/one-too-many", json={}), "Quota exceeded: queues")
        assert client.put("/v2/queues/q0", json={}).status_code == 204  # exists: fine
        lazy = client.post("/v2/queues/lazy/messages", json={"messages": [{"body": 1}]})
        assert_refused(lazy, "Quota exceeded: queues")
        assert client.delete("/v2/queues/q0").status_code == 204
        assert client.put("/v2/queues/one-more", json={}).status_code == 201
    assert rejections(limited_suite, "queues") == before + 2


def test_byte_quota_answers_429(limited_suite: LimitedSuite) -> None:
    with http(limited_suite, limited_suite.bytes_project) as client:
        fits = "x" * (BYTE_QUOTA - 2)  # stored with its quotes: exactly the quota
        assert (
            client.post("/v2/queues/q/messages", json={"messages": [{"body": fits}]}).status_code
            == 201
        )
        refused = client.post("/v2/queues/q/messages", json={"messages": [{"body": 1}]})
        assert_refused(refused, "Quota exceeded: bytes")


def test_unlimited_projects_are_not_affected(limited_suite: LimitedSuite) -> None:
    with http(limited_suite, f"free {uuid.uuid4().hex[:8]}") as client:
        for _ in range(3):
            response = client.post(
                "/v2/queues/q/messages", json={"messages": [{"body": 1}] * MESSAGE_QUOTA}
            )
            assert response.status_code == 201


async def test_websocket_post_over_quota_gets_a_429_frame(limited_suite: LimitedSuite) -> None:
    url = limited_suite.websocket.url.replace("http://", "ws://") + "/"
    ws = await WsClient.open(url, limited_suite.messages_project)
    try:
        body = {"queue_name": "ws", "messages": [{"body": 1}] * (MESSAGE_QUOTA + 1)}
        status, reply = await ws.call("message_post", body)
        assert status == 429, reply
        assert reply["error"] == "Quota exceeded: messages"
        assert reply["retry_after"] == RECOUNT_INTERVAL
        assert f"at most {MESSAGE_QUOTA} messages" in reply["exception"]
    finally:
        await ws.close()
