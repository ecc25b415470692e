"""/metrics of every running service, parsed with the Prometheus text parser: the families
DESIGN.md section 6 names are there, labels stay bounded, and the counters move with work."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path

import httpx
import nats
import pytest
from websockets.asyncio.client import connect

from tests.notifier.receivers import HttpReceiver
from tests.ops.conftest import (
    DEPTH_MAX_SERIES,
    OpsSuite,
    Scrape,
    headers,
    new_project,
    scrape,
    wait_for,
)

# Family names as the parser reports them (counters without _total).
FAMILIES = {
    "api": {
        "tidings_http_requests": "counter",
        "tidings_http_request_duration_seconds": "histogram",
        "tidings_rpc_calls": "counter",
        "tidings_rpc_call_duration_seconds": "histogram",
        "tidings_rate_limited_requests": "counter",
        "tidings_rate_limit_reports": "counter",
    },
    "storage": {
        "tidings_rpc_served": "counter",
        "tidings_quota_rejections": "counter",
        "tidings_quota_recounts": "counter",
        "tidings_rpc_serve_duration_seconds": "histogram",
        "tidings_storage_query_duration_seconds": "histogram",
        "tidings_messages_posted": "counter",
        "tidings_messages_claimed": "counter",
        "tidings_messages_deleted": "counter",
        "tidings_queue_depth_messages": "gauge",
        "tidings_queue_oldest_message_age_seconds": "gauge",
        "tidings_project_depth_messages": "gauge",
        "tidings_project_oldest_message_age_seconds": "gauge",
        "tidings_depth_metrics_omitted": "gauge",
    },
    "websocket": {
        "tidings_websocket_open_sockets": "gauge",
        "tidings_websocket_frames": "counter",
        "tidings_websocket_push_latency_seconds": "histogram",
        "tidings_rpc_call_duration_seconds": "histogram",
    },
    "notifier": {
        "tidings_notifier_deliveries": "counter",
        "tidings_notifier_delivery_latency_seconds": "histogram",
    },
}
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/helm/tidings/files/dashboard.json"
MESSAGES_ROUTE = "/v2/queues/{queue_name}/messages"


@pytest.mark.parametrize("service", sorted(FAMILIES))
def test_every_service_serves_its_families(ops: OpsSuite, service: str) -> None:
    assert service in ops.services, f"the suite started no {service}"
    families = scrape(ops.services[service]).families
    for name, kind in FAMILIES[service].items():
        assert families.get(name) == kind, f"{service} lacks {kind} {name}"


def test_counters_move_when_work_is_done(ops: OpsSuite, rest: httpx.Client) -> None:
    project, queue = new_project(), f"work-{uuid.uuid4().hex[:6]}"
    api_before, storage_before = scrape(ops.api), scrape(ops.storage)
    h = headers(project)
    assert rest.put(f"/v2/queues/{queue}", headers=h).status_code == 201
    body = {"messages": [{"ttl": 300, "body": n} for n in range(3)]}
    assert rest.post(f"/v2/queues/{queue}/messages", json=body, headers=h).status_code == 201
    claim = rest.post(f"/v2/queues/{queue}/claims?limit=2", json={"ttl": 60}, headers=h)
    assert claim.status_code == 201
    href = claim.json()["messages"][0]["href"]
    assert rest.delete(href, headers=h).status_code == 204
    api_after, storage_after = scrape(ops.api), scrape(ops.storage)

    def moved(before: float, after: float) -> float:
        return after - before

    post = {"method": "POST", "route": MESSAGES_ROUTE, "status": "201"}
    assert (
        moved(
            api_before.value("tidings_http_requests_total", **post),
            api_after.value("tidings_http_requests_total", **post),
        )
        == 1
    )
    latency = {"method": "POST", "route": MESSAGES_ROUTE}
    assert (
        moved(
            api_before.value("tidings_http_request_duration_seconds_count", **latency),
            api_after.value("tidings_http_request_duration_seconds_count", **latency),
        )
        == 1
    )
    rpc = {"operation": "message.post", "outcome": "ok"}
    assert (
        moved(
            api_before.value("tidings_rpc_calls_total", **rpc),
            api_after.value("tidings_rpc_calls_total", **rpc),
        )
        == 1
    )
    assert (
        moved(
            storage_before.value("tidings_rpc_served_total", **rpc),
            storage_after.value("tidings_rpc_served_total", **rpc),
        )
        == 1
    )
    for counter, expected in [
        ("tidings_messages_posted_total", 3),
        ("tidings_messages_claimed_total", 2),
        ("tidings_messages_deleted_total", 1),
    ]:
        assert moved(storage_before.value(counter), storage_after.value(counter)) == expected
    assert storage_after.total("tidings_storage_query_duration_seconds_count") > (
        storage_before.total("tidings_storage_query_duration_seconds_count")
    )


async def test_websocket_gauges_and_counters_move(ops: OpsSuite) -> None:
    before = scrape(ops.websocket)
    url = ops.websocket.url.replace("http://", "ws://") + "/"
    async with connect(url, additional_headers=headers(new_project())) as socket:
        await socket.send(json.dumps({"action": "queue_list", "headers": headers(new_project())}))
        reply = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert reply["headers"]["status"] == 200
        during = scrape(ops.websocket)
        assert during.value("tidings_websocket_open_sockets") == (
            before.value("tidings_websocket_open_sockets") + 1
        )
        frames = {"action": "queue_list", "status": "200"}
        assert during.value("tidings_websocket_frames_total", **frames) == (
            before.value("tidings_websocket_frames_total", **frames) + 1
        )
    wait_for(
        lambda: (
            scrape(ops.websocket).value("tidings_websocket_open_sockets")
            == before.value("tidings_websocket_open_sockets")
        )
    )


def test_route_labels_are_templates_not_paths(ops: OpsSuite, rest: httpx.Client) -> None:
    project = new_project()
    names = [f"cardinality-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for name in names:
        rest.get(f"/v2/queues/{name}/stats", headers=headers(project))
    rest.get(f"/no/such/{uuid.uuid4().hex}", headers=headers(project))
    api = scrape(ops.api)
    routes = {s["route"] for s in api.series("tidings_http_requests_total")}
    assert "/v2/queues/{queue_name}/stats" in routes
    assert "unmatched" in routes
    label_values = {v for series in api.samples for _, v in series[1]}
    assert not any(name in value for name in names for value in label_values)


async def test_unknown_rpc_subjects_share_one_label(ops: OpsSuite) -> None:
    bogus = f"bogus{uuid.uuid4().hex[:8]}"
    client = await nats.connect(ops.suite.nats_url)
    try:
        reply = await client.request(f"tidings.rpc.{bogus}", b"{}", timeout=5)
    finally:
        await client.drain()
    assert b"error" in reply.data

    def operations() -> set[str]:
        return {s["operation"] for s in scrape(ops.storage).series("tidings_rpc_served_total")}

    # Storage counts a request once its reply is on the way: poll for the count.
    wait_for(lambda: "unknown" in operations())
    assert not any(bogus in operation for operation in operations())


def test_depth_and_oldest_age_per_queue_and_project(ops: OpsSuite, rest: httpx.Client) -> None:
    """Three deep queues (deeper than any other test's) fill the series limit of three; a
    shallower one is left out and counted as omitted; depths follow posts and deletes."""
    project = new_project()
    h = headers(project)
    depths = {"deep-a": 12, "deep-b": 11, "deep-c": 10, "shallow": 5}
    for queue, count in depths.items():
        messages = [{"ttl": 300, "body": i} for i in range(count)]
        response = rest.post(f"/v2/queues/{queue}/messages", json={"messages": messages}, headers=h)
        assert response.status_code == 201

    def snapshot_after(moment: float) -> Scrape:
        """A scrape of a snapshot whose reads began after ``moment`` (same machine clock)."""
        found: list[Scrape] = []

        def taken() -> bool:
            found[:] = [scrape(ops.storage)]
            return found[0].value("tidings_depth_metrics_snapshot_timestamp_seconds") > moment

        wait_for(taken)
        return found[0]

    def exported(storage: Scrape) -> dict[str, float]:
        return {
            s["queue"]: storage.value("tidings_queue_depth_messages", **s)
            for s in storage.series("tidings_queue_depth_messages")
            if s["project"] == project
        }

    storage = snapshot_after(time.time())
    assert exported(storage) == {"deep-a": 12, "deep-b": 11, "deep-c": 10}
    assert len(storage.series("tidings_queue_depth_messages")) == DEPTH_MAX_SERIES
    assert len(storage.series("tidings_queue_oldest_message_age_seconds")) == DEPTH_MAX_SERIES
    assert len(storage.series("tidings_project_depth_messages")) <= DEPTH_MAX_SERIES
    assert storage.value("tidings_depth_metrics_omitted", kind="queue") >= 1
    assert storage.value("tidings_project_depth_messages", project=project) == sum(depths.values())
    age = storage.value("tidings_queue_oldest_message_age_seconds", project=project, queue="deep-a")
    assert 0 <= age < 60
    later = snapshot_after(time.time())
    assert (
        later.value("tidings_queue_oldest_message_age_seconds", project=project, queue="deep-a")
        > age
    )
    # Deleting a deep queue moves it out; the shallower queue takes its place.
    assert rest.delete("/v2/queues/deep-b", headers=h).status_code == 204
    storage = snapshot_after(time.time())
    assert exported(storage) == {"deep-a": 12, "deep-c": 10, "shallow": 5}
    assert storage.value("tidings_project_depth_messages", project=project) == 27


def test_dashboard_queries_only_served_families(ops: OpsSuite) -> None:
    served: set[str] = set()
    for service in ops.services.values():
        for name, kind in scrape(service).families.items():
            served.add(name)
            if kind == "counter":
                served.add(f"{name}_total")
            if kind == "histogram":
                served.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    if "notifier" not in ops.services:  # its families are still defined: read its module
        from tidings.notifier import metrics as notifier_metrics

        for metric in vars(notifier_metrics).values():
            describe = getattr(metric, "describe", None)
            if callable(describe):
                for family in describe():
                    served.update({family.name, f"{family.name}_total", f"{family.name}_bucket"})
    queried = set(re.findall(r"\btidings_[a-z_]+", DASHBOARD.read_text()))
    assert queried, "the dashboard queries nothing"
    assert queried <= served, f"not served: {sorted(queried - served)}"


def test_notifier_delivery_counters_move(ops: OpsSuite, rest: httpx.Client) -> None:
    notifier = ops.notifier
    assert notifier is not None, "the suite started no notifier"
    receiver = HttpReceiver()
    try:
        h = headers(new_project())
        queue = f"hooks-{uuid.uuid4().hex[:6]}"
        subscription = {"subscriber": f"{receiver.url}/hook", "ttl": 600}
        response = rest.post(f"/v2/queues/{queue}/subscriptions", json=subscription, headers=h)
        assert response.status_code == 201, response.text
        before = scrape(notifier)
        body = {"messages": [{"ttl": 300, "body": n} for n in range(2)]}
        assert rest.post(f"/v2/queues/{queue}/messages", json=body, headers=h).status_code == 201
        receiver.wait_for(lambda received: len(received) >= 2, timeout=15)
        delivered = {"subscriber_type": "webhook", "outcome": "delivered"}
        wait_for(
            lambda: (
                scrape(notifier).value("tidings_notifier_deliveries_total", **delivered)
                == before.value("tidings_notifier_deliveries_total", **delivered) + 2
            )
        )
        latency = "tidings_notifier_delivery_latency_seconds_count"
        after = scrape(notifier)
        assert after.value(latency, subscriber_type="webhook") == (
            before.value(latency, subscriber_type="webhook") + 2
        )
    finally:
        receiver.stop()
