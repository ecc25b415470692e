"""Topics (spec 2.12): queue semantics under /v2/topics, in a namespace of their own."""

from __future__ import annotations

import httpx

from tests.api.conftest import assert_error, queue_name

TOPIC_DEFAULTS = {
    "_max_messages_post_size": 262144,
    "_default_message_ttl": 3600,
    "_default_message_delay": 0,
}


def test_topic_lifecycle(client: httpx.Client) -> None:
    topic = queue_name()
    created = client.put(f"/v2/topics/{topic}", json={"a": 1})
    assert created.status_code == 201
    assert created.headers["Location"] == f"/v2/topics/{topic}"
    assert client.get(f"/v2/topics/{topic}").json() == {**TOPIC_DEFAULTS, "a": 1}
    patched = client.patch(
        f"/v2/topics/{topic}",
        json=[{"op": "add", "path": "/metadata/b", "value": 2}],
        headers={"Content-Type": "application/openstack-messaging-v2.0-json-patch"},
    )
    assert patched.json() == {**TOPIC_DEFAULTS, "a": 1, "b": 2}
    listed = client.get("/v2/topics", params={"detailed": "true"}).json()
    assert listed["topics"] == [
        {
            "name": topic,
            "href": f"/v2/topics/{topic}",
            "metadata": {**TOPIC_DEFAULTS, "a": 1, "b": 2},
        }
    ]
    assert listed["links"][0]["href"].startswith("/v2/topics?marker=")
    posted = client.post(f"/v2/topics/{topic}/messages", json={"messages": [{"body": "t"}]})
    assert posted.status_code == 201
    href = posted.json()["resources"][0]
    assert href.startswith(f"/v2/topics/{topic}/messages/")
    assert client.get(href).json()["body"] == "t"
    stats = client.get(f"/v2/topics/{topic}/stats").json()["messages"]
    assert stats["total"] == 1
    assert stats["oldest"]["href"] == href
    assert client.post(f"/v2/topics/{topic}/purge").status_code == 204
    assert client.get(f"/v2/topics/{topic}/stats").json()["messages"]["total"] == 0
    assert client.delete(f"/v2/topics/{topic}").status_code == 204
    assert client.get("/v2/topics").json() == {"topics": [], "links": []}


def test_topics_and_queues_are_separate_namespaces(client: httpx.Client) -> None:
    name = queue_name()
    client.put(f"/v2/topics/{name}", json={"kind": "topic"})
    assert client.get("/v2/queues").json()["queues"] == []
    assert client.put(f"/v2/queues/{name}", json={"kind": "queue"}).status_code == 201
    assert client.get(f"/v2/queues/{name}").json()["kind"] == "queue"
    assert client.get(f"/v2/topics/{name}").json()["kind"] == "topic"
    client.post(f"/v2/topics/{name}/messages", json={"messages": [{"body": 1}]})
    assert client.get(f"/v2/queues/{name}/stats").json()["messages"]["total"] == 0


def test_topic_identification(client: httpx.Client) -> None:
    assert_error(client.put("/v2/topics/bad@name"), 400, "Invalid topic identification")
    assert_error(client.get("/v2/topics", params={"limit": "21"}), 400)
    # with_count is no topic parameter: it filters on metadata like any unknown key
    client.put(f"/v2/topics/{queue_name()}")
    assert client.get("/v2/topics", params={"with_count": "true"}).json()["topics"] == []


def test_no_claims_on_topics(client: httpx.Client) -> None:
    assert_error(client.post(f"/v2/topics/{queue_name()}/claims"), 404)
