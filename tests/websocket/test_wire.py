"""The pushes' fast path (wire.py): straight to uvicorn's transport, same frames as ASGI.

If an upgrade of uvicorn or websockets makes ``direct_wire`` find nothing, pushes still work
through ASGI but lose most of their throughput; the metric check below catches that.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.websocket.client import TIMEOUT, WsClient
from tests.websocket.conftest import ClientFactory, WsSuite
from tests.websocket.test_subscriptions import rest_post

DIRECT = "tidings_websocket_direct_pushes_total"
ALL = "tidings_websocket_pushes_total"


async def _pushes(client: WsClient, count: int) -> list[dict[str, object]]:
    return [await asyncio.wait_for(client.pushes.get(), TIMEOUT) for _ in range(count)]


async def test_pushes_go_straight_to_the_transport_with_and_without_compression(
    ws_factory: ClientFactory, rest: httpx.Client, ws_suite: WsSuite, binary: bool
) -> None:
    deflate = await ws_factory(replica=0, binary=binary)  # websockets offers permessage-deflate
    plain = await ws_factory(replica=0, binary=binary, project=deflate.project, compression=None)
    assert deflate.ws.protocol.extensions and not plain.ws.protocol.extensions
    for client in (deflate, plain):
        assert (await client.call("subscription_create", {"queue_name": "wire"}))[0] == 201
    direct, sent = ws_suite.metric(0, DIRECT), ws_suite.metric(0, ALL)

    ids = rest_post(rest, deflate.project, "wire", {"n": 0}, {"n": 1}, {"n": 2})
    for client in (deflate, plain):
        pushes = await _pushes(client, 3)
        assert [push["message_id"] for push in pushes] == ids
        assert [push["body"] for push in pushes] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert all(push["queue_name"] == "wire" for push in pushes)
        # The encoding of the subscription request, as through ASGI.
        assert client.raw_kinds[-3:] == [bytes if binary else str] * 3

    assert ws_suite.metric(0, ALL) - sent == 6
    assert ws_suite.metric(0, DIRECT) - direct == 6
