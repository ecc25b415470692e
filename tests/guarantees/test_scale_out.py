"""Scale-out on one machine (issue 6): under load on the scaled suite (two replicas of each
service, two pools), one replica of every kind is SIGKILLed at once. Guarantee 1: every
message acknowledged (REST 201 or WebSocket 201) is still stored, wherever its queue's pool
is. Guarantee 4: every acknowledged message of a subscribed queue is notified. Guarantee 7:
the survivors keep serving. The killed replicas are restarted for the rest of the session."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.fixtures.scaled import ScaledSuite
from tests.guarantees.load import PostLoad, headers, list_all_ids, post_load
from tests.notifier.receivers import HttpReceiver
from tests.websocket.client import WsClient

pytestmark = pytest.mark.slow

LOAD_SECONDS = 5.0
KILL_AFTER = 1.5
DELIVERY_DEADLINE = 30.0


def placements(catalog_url: str, project: str) -> dict[str, str | None]:
    url = make_url(catalog_url)
    dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT queue, pool FROM placements WHERE project = %s", (project,)
        ).fetchall()
    return {queue: pool for queue, pool in rows}


async def ws_post_load(url: str, project: str, queue: str, deadline: float) -> list[str]:
    """Post through one websocket replica until the deadline or until its socket dies."""
    acked: list[str] = []
    client = await WsClient.open(url, project)
    try:
        for number in range(400):
            if time.monotonic() > deadline:
                break
            body = {"queue_name": queue, "messages": [{"body": {"ws": number}, "ttl": 3600}]}
            try:
                status, reply = await client.call("message_post", body)
            except Exception:  # the replica died under us: what it acknowledged must stay
                break
            if status == 201:
                acked += reply["message_ids"]
            else:
                await asyncio.sleep(0.05)
    finally:
        await client.ws.close()
    return acked


async def test_a_replica_of_each_kind_killed_under_load(scaled_suite: ScaledSuite) -> None:
    suite = scaled_suite.suite
    project = f"scale {uuid.uuid4().hex[:8]}"
    api_a, api_b = scaled_suite.api_urls
    ws_urls = [r.url.replace("http://", "ws://") + "/" for r in scaled_suite.websocket]
    receiver = HttpReceiver()
    victims = [suite.api[1], suite.storage[1], scaled_suite.websocket[1], scaled_suite.notifier[1]]
    try:
        async with httpx.AsyncClient(base_url=api_a, headers=headers(project)) as http:
            response = await http.post(
                "/v2/queues/notified/subscriptions", json={"subscriber": f"{receiver.url}/hook"}
            )
            assert response.status_code == 201, response.text
            for i in range(12):  # queues enough to land in both pools
                assert (await http.put(f"/v2/queues/spread{i}")).status_code == 201

        deadline = time.monotonic() + LOAD_SECONDS
        loads = asyncio.gather(
            post_load(api_a, project, "via-a", clients=3, duration=LOAD_SECONDS),
            post_load(api_b, project, "via-b", clients=3, duration=LOAD_SECONDS),
            post_load(api_a, project, "notified", clients=2, duration=LOAD_SECONDS),
        )
        ws_loads = asyncio.gather(
            *(ws_post_load(url, project, f"ws{i}", deadline) for i, url in enumerate(ws_urls))
        )
        await asyncio.sleep(KILL_AFTER)
        for victim in victims:
            victim.kill()
        killed_at = time.monotonic()
        rest_results: list[PostLoad] = list(await loads)
        ws_acked: list[list[str]] = list(await ws_loads)

        via_a, via_b, notified = rest_results
        for result in rest_results:
            assert result.outcomes["201"] > 10, result.outcomes
        # Through the surviving api only 201s and 503s; the killed api drops its connections.
        for result in (via_a, notified):
            assert not set(result.outcomes) - {"201", "503"}, result.outcomes
        dropped = {"ConnectError", "ReadError", "RemoteProtocolError", "WriteError"}
        assert not set(via_b.outcomes) - {"201", "503"} - dropped, via_b.outcomes
        # The survivors carried on: posts through api-0 (and storage-0) after the kill.
        assert any(at > killed_at for at in via_a.acked_at), via_a.outcomes
        assert ws_acked[0] and ws_acked[1], "each websocket replica acknowledged posts"

        queues = {"via-a": via_a.acked, "via-b": via_b.acked, "notified": notified.acked,
                  "ws0": ws_acked[0], "ws1": ws_acked[1]}  # fmt: skip
        for queue, acked in queues.items():
            stored = await list_all_ids(api_a, project, queue)
            missing = set(acked) - set(stored)
            assert not missing, f"{queue}: {len(missing)} acknowledged messages lost"
            assert len(stored) == len(set(stored)), f"{queue}: a message is listed twice"

        placed = placements(scaled_suite.catalog_url, project)
        assert set(queues) | {f"spread{i}" for i in range(12)} <= set(placed)
        assert set(placed.values()) == set(scaled_suite.pool_urls), placed

        wanted = set(notified.acked)
        seen: set[str] = set()
        give_up = time.monotonic() + DELIVERY_DEADLINE
        while time.monotonic() < give_up:
            seen = {r.headers["X-Tidings-Message-Id"] for r in receiver.snapshot()}
            if wanted <= seen:
                break
            await asyncio.sleep(0.5)
        assert wanted <= seen, f"{len(wanted - seen)} acknowledged messages never notified"
    finally:
        receiver.stop()
        await asyncio.gather(*(victim.restart_async() for victim in victims))
