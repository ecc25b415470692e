"""A lean subscribed WebSocket for the push benchmark: one asyncio protocol, no task per socket.

A thousand sockets receiving a hundred pushes a second each is 100,000 frames a second in one
client process that shares two cores with the suite it measures. So each socket is a plain
:class:`asyncio.Protocol` around the sans-I/O :class:`websockets.client.ClientProtocol` (which
does the handshake, the framing and the pong replies): frames are handled inside
``data_received``, with no reader task, future or queue per frame. A pushed frame is decoded
once and only its ``body`` is kept: the benchmark's ``i`` (post number) and ``t`` (the poster's
``perf_counter`` when it sent the post).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SubscribeFailed(Exception):
    """The handshake or the ``subscription_create`` reply did not succeed."""


@dataclass
class Received:
    """What one socket saw of the benchmark's posts."""

    latencies: list[float] = field(default_factory=list)  # seconds, post sent -> frame read
    seen: set[int] = field(default_factory=set)  # post numbers
    duplicates: int = 0
    out_of_order: int = 0
    last: int = -1
    last_at: float = 0.0  # perf_counter when the last benchmark frame arrived


class ListenerProtocol(asyncio.Protocol):
    def __init__(self, url: str, run: str) -> None:
        self._ws = ClientProtocol(parse_uri(url), max_size=None)
        self._run = run
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._reply: asyncio.Future[dict[str, object]] | None = None
        self.closed: asyncio.Future[None] = loop.create_future()
        self.received = Received()

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._ws.send_request(self._ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self._ws.receive_data(data)
        for event in self._ws.events_received():
            if isinstance(event, Response):
                self._on_handshake(event)
            elif isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                self._on_frame(event.data)
        self._flush()  # pongs, and the close handshake

    def connection_lost(self, exc: Exception | None) -> None:
        error = SubscribeFailed(f"connection lost: {exc or 'closed by the server'}")
        for future in (self._handshake, self._reply):
            if future is not None and not future.done():
                future.set_exception(error)
        if not self.closed.done():
            self.closed.set_result(None)

    # ---------------------------------------------------------------- frames

    def _flush(self) -> None:
        if self._transport is None:
            return
        for chunk in self._ws.data_to_send():
            if chunk:
                self._transport.write(chunk)
            else:  # the protocol asks for the end of the stream
                self._transport.close()

    def _on_handshake(self, response: Response) -> None:
        if self._handshake.done():
            return
        if response.status_code == 101 and self._ws.handshake_exc is None:
            self._handshake.set_result(None)
        else:
            self._handshake.set_exception(SubscribeFailed(f"handshake: {response.status_code}"))

    def _on_frame(self, data: bytes | bytearray | memoryview) -> None:
        now = time.perf_counter()
        frame = orjson.loads(data)
        if "request" in frame:  # a reply (only subscription_create is ever sent)
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(frame)
            return
        body = frame.get("body")
        if not isinstance(body, dict) or body.get("run") != self._run:
            return  # not a post of this benchmark run
        number, sent = int(body["i"]), float(body["t"])
        got = self.received
        if number in got.seen:
            got.duplicates += 1
            return
        got.seen.add(number)
        if number < got.last:
            got.out_of_order += 1
        got.last = max(got.last, number)
        got.last_at = now
        got.latencies.append(now - sent)

    # ---------------------------------------------------------------- requests

    async def subscribe(self, project: str, queue: str, timeout: float) -> None:
        """Finish the handshake, then subscribe this socket to the queue (201 expected)."""
        await asyncio.wait_for(asyncio.shield(self._handshake), timeout)
        self._reply = asyncio.get_running_loop().create_future()
        request = {
            "action": "subscription_create",
            "headers": {"Client-ID": str(uuid.uuid4()), "X-Project-ID": project},
            "body": {"queue_name": queue, "ttl": 3600},
        }
        self._ws.send_text(orjson.dumps(request))
        self._flush()
        reply = await asyncio.wait_for(asyncio.shield(self._reply), timeout)
        headers = reply.get("headers")
        status = headers.get("status") if isinstance(headers, dict) else None
        if status != 201:
            raise SubscribeFailed(f"subscription_create answered {status}: {reply.get('body')}")

    def close(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._ws.send_close(1000)
            self._flush()
        except Exception:  # the connection is already failing: just drop it
            self._transport.abort()


async def open_listener(url: str, run: str, timeout: float) -> ListenerProtocol:
    uri = parse_uri(url)
    if uri.host not in LOOPBACK or uri.secure:
        raise ValueError("the benchmark only targets plain ws:// on loopback addresses")
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: ListenerProtocol(url, run), uri.host, uri.port), timeout
    )
    return protocol
