"""A slow consumer is closed (4008) without slowing a fast one; dead peers are found by pings."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.websocket.client import CLIENT_ID, decode, new_project
from tests.websocket.conftest import ClientFactory, WsSuite, rest_headers

SLOW_CLOSES = "tidings_websocket_slow_consumer_closes_total"
# Big incompressible frames (sockets negotiate per-message deflate) fill the kernel buffers
# between server and client fast.
BODY = base64.b64encode(os.urandom(150_000)).decode()
MAX_POSTS = 200
DEADLINE = 60.0


async def test_slow_consumer_is_closed_and_fast_one_gets_everything(
    ws_suite: WsSuite, ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    project = new_project()
    url = ws_suite.ws_url(1)  # the replica with a small send buffer
    fast = await ws_factory(replica=1, project=project)
    await fast.call("subscription_create", {"queue_name": "flood"})

    # The slow client subscribes, then stops reading; a tiny receive buffer and max_queue=1
    # make the back-pressure reach the server after a few frames.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", ws_suite.replicas[1].port))
    slow = await connect(url, sock=sock, max_queue=1, max_size=None)
    frame = {
        "action": "subscription_create",
        "headers": {"Client-ID": CLIENT_ID, "X-Project-ID": project},
        "body": {"queue_name": "flood"},
    }
    await slow.send(json.dumps(frame))
    assert decode(await slow.recv())["headers"]["status"] == 201

    closes_before = ws_suite.metric(1, SLOW_CLOSES)
    posted: list[str] = []
    started = time.monotonic()
    while ws_suite.metric(1, SLOW_CLOSES) == closes_before:
        assert len(posted) < MAX_POSTS and time.monotonic() - started < DEADLINE
        response = await asyncio.to_thread(
            rest.post,
            "/v2/queues/flood/messages",
            headers=rest_headers(project),
            json={"messages": [{"body": BODY, "ttl": 300}]},
        )
        assert response.status_code == 201
        posted.append(response.json()["resources"][0].rsplit("/", 1)[1])
        # The fast client keeps up all along.
        pushed = await fast.push()
        assert pushed["message_id"] == posted[-1]

    # The slow client, reading again, gets what was buffered and then the close frame.
    code = None
    try:
        async with asyncio.timeout(30):
            while True:
                await slow.recv()
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else None
    assert code == 4008

    # The fast socket is still fine.
    status, _ = await fast.call("queue_get_stats", {"queue_name": "flood"})
    assert status == 200


def _handshake(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never answers anything."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def _wait_closed(sock: socket.socket, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True  # the server closed the connection
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


async def test_unresponsive_peer_is_closed_by_keepalive_pings(ws_suite: WsSuite) -> None:
    sock = await asyncio.to_thread(_handshake, ws_suite.replicas[0].port)
    try:
        # Replica 0 pings every second and waits two for the pong.
        assert await asyncio.to_thread(_wait_closed, sock, 15)
    finally:
        sock.close()
