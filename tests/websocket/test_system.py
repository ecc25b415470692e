"""ping, health, home document, pools/flavors; probes and metrics of the service."""

from __future__ import annotations

import httpx
import pytest

from tests.websocket.client import WsClient
from tests.websocket.conftest import ClientFactory, WsSuite


async def test_ping_node(ws: WsClient) -> None:
    assert await ws.call("ping_node") == (204, {})


async def test_check_node_health_needs_admin_mode_and_role(ws_factory: ClientFactory) -> None:
    admin_replica = await ws_factory(replica=0)
    plain_replica = await ws_factory(replica=1)
    status, body = await plain_replica.call("check_node_health", {}, plain_replica.headers(
        **{"X-Roles": "admin"}))  # fmt: skip
    assert status == 404
    status, body = await admin_replica.call("check_node_health", {})
    assert (status, body["error"]) == (403, "Not authorized")
    status, body = await admin_replica.call(
        "check_node_health", {}, admin_replica.headers(**{"X-Roles": "member, admin"})
    )
    assert status == 200
    assert body["storage_reachable"] is True
    assert set(body) == {"storage_reachable", "message_volume", "operation_status"}


async def test_home_document(ws: WsClient) -> None:
    status, body = await ws.call("get_home_doc")
    assert status == 200
    resources = body["resources"]
    assert resources["rel/queues"]["href-template"] == "/v2/queues{?marker,limit,detailed}"
    assert all(
        (entry.get("href") or entry.get("href-template")).startswith("/v2")
        for entry in resources.values()
    )


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("pool_list", {}),
        ("pool_get", {"pool_name": "p"}),
        ("pool_create", {"pool_name": "p", "uri": "postgresql://h/d", "weight": 1}),
        ("flavor_list", {}),
        ("flavor_delete", {"flavor_name": "f"}),
    ],
)
async def test_pools_and_flavors_do_not_exist(
    ws: WsClient, action: str, body: dict[str, object]
) -> None:
    """Without TIDINGS_POOLING (this suite), as REST without pooling (spec 1.1)."""
    status, body = await ws.call(action, body)
    assert status == 404
    assert body == {
        "exception": "Pools and flavors are not available: this deployment has no pooling.",
        "error": "Not found",
    }


def test_probes_and_metrics(ws_suite: WsSuite) -> None:
    base = ws_suite.replicas[0].url
    assert httpx.get(base + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(base + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"nats": True, "storage": True}
    text = httpx.get(base + "/metrics").text
    for name in (
        "tidings_websocket_open_sockets",
        "tidings_websocket_push_latency_seconds_bucket",
        "tidings_websocket_frames_total",
        "tidings_websocket_slow_consumer_closes_total",
    ):
        assert name in text
