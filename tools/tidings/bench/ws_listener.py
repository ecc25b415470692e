"""A lean subscribed WebSocket for the push benchmark: one asyncio protocol, no task per socket.

A thousand sockets receiving a hundred pushes a second each is 100,000 frames a second in one
client process that shares two cores with the suite it measures, so the client's cost per
frame decides whether the benchmark measures the server or itself. Each socket is a plain
:class:`asyncio.Protocol`; incoming frames are cut out of the byte stream inside
``data_received`` (a server's frames are unmasked, and these are small and never fragmented),
with no reader task, future or queue per frame: about 1 us a frame against about 3 us through
websockets' general-purpose sans-I/O protocol. What is not speed-critical comes from
websockets: the handshake keys and the (masked) frames the client sends.

A pushed frame is decoded once and only its ``body`` is kept: the benchmark's ``i`` (post
number) and ``t`` (the poster's ``time.monotonic()`` when it sent the post), plus its ``marker``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from time import monotonic
from typing import cast
from urllib.parse import urlsplit

import orjson
from websockets.frames import Frame, Opcode
from websockets.utils import accept_key, generate_key

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_HANDSHAKE = 16 * 1024
FIN = 0x80


class SubscribeFailed(Exception):
    """The handshake or the ``subscription_create`` reply did not succeed."""


@dataclass
class Received:
    """What one socket saw of the benchmark's posts."""

    latencies: list[float] = field(default_factory=list)  # seconds, post sent -> frame read
    seen: set[int] = field(default_factory=set)  # post numbers
    duplicates: int = 0
    out_of_order: int = 0  # frames whose marker is below one already seen (commit order)
    last_marker: int = -1
    last_at: float = 0.0  # time.monotonic() when the last benchmark frame arrived


class ListenerProtocol(asyncio.Protocol):
    def __init__(self, host: str, port: int, path: str, run: str) -> None:
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {{key}}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self._key = generate_key()
        self._run = run
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._upgraded = False
        loop = asyncio.get_running_loop()
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._reply: asyncio.Future[dict[str, object]] | None = None
        self.closed: asyncio.Future[None] = loop.create_future()
        self.received = Received()

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP connection's transport (uvloop's is no asyncio.Transport subclass, hence a cast).
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._request.format(key=self._key).encode("latin-1"))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._upgraded and not self._read_handshake():
            return
        # Cut complete frames out of the buffer; keep a partial one for the next read.
        start, size = 0, len(buffer)
        while size - start >= 2:
            first, length = buffer[start], buffer[start + 1] & 0x7F
            header = 2
            if length == 126:
                if size - start < 4:
                    break
                length, header = int.from_bytes(buffer[start + 2 : start + 4], "big"), 4
            elif length == 127:
                if size - start < 10:
                    break
                length, header = int.from_bytes(buffer[start + 2 : start + 10], "big"), 10
            end = start + header + length
            if end > size:
                break
            self._on_frame(first, bytes(buffer[start + header : end]))
            start = end
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        error = SubscribeFailed(f"connection lost: {exc or 'closed by the server'}")
        for future in (self._handshake, self._reply):
            if future is not None and not future.done():
                future.set_exception(error)
        if not self.closed.done():
            self.closed.set_result(None)

    # ---------------------------------------------------------------- frames

    def _read_handshake(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HANDSHAKE:
                self._fail("handshake: response too long")
            return False
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        lines = head.split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        if lines[0].split(" ", 2)[1:2] != ["101"]:
            self._fail(f"handshake: {lines[0]}")
            return False
        if headers.get("sec-websocket-accept") != accept_key(self._key):
            self._fail("handshake: wrong Sec-WebSocket-Accept")
            return False
        self._upgraded = True
        if not self._handshake.done():
            self._handshake.set_result(None)
        return True

    def _fail(self, reason: str) -> None:
        if not self._handshake.done():
            self._handshake.set_exception(SubscribeFailed(reason))
        if self._transport is not None:
            self._transport.abort()

    def _send(self, opcode: Opcode, payload: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            frame = Frame(opcode, payload)
            self._transport.write(frame.serialize(mask=True, extensions=[]))

    def _on_frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if not first & FIN or opcode == Opcode.CONT:
            self._fail("fragmented frames are not expected")
        elif opcode == Opcode.TEXT or opcode == Opcode.BINARY:
            self._on_message(payload)
        elif opcode == Opcode.PING:
            self._send(Opcode.PONG, payload)
        elif opcode == Opcode.CLOSE:
            self._send(Opcode.CLOSE, payload[:2])
            if self._transport is not None:
                self._transport.close()

    def _on_message(self, data: bytes) -> None:
        now = monotonic()
        frame = orjson.loads(data)
        if "request" in frame:  # a reply (only subscription_create is ever sent)
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(frame)
            return
        body = frame.get("body")
        if not isinstance(body, dict) or body.get("run") != self._run:
            return  # not a post of this benchmark run
        number = body["i"]
        got = self.received
        if number in got.seen:
            got.duplicates += 1
            return
        got.seen.add(number)
        marker = frame.get("marker")
        if marker is not None:
            marker = int(marker)
            if marker < got.last_marker:
                got.out_of_order += 1
            else:
                got.last_marker = marker
        got.latencies.append(now - body["t"])
        got.last_at = now

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
        self._send(Opcode.TEXT, orjson.dumps(request))
        reply = await asyncio.wait_for(asyncio.shield(self._reply), timeout)
        headers = reply.get("headers")
        status = headers.get("status") if isinstance(headers, dict) else None
        if status != 201:
            raise SubscribeFailed(f"subscription_create answered {status}: {reply.get('body')}")

    def close(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        if self._upgraded:
            self._send(Opcode.CLOSE, (1000).to_bytes(2, "big"))
        self._transport.close()


async def open_listener(url: str, run: str, timeout: float) -> ListenerProtocol:
    parts = urlsplit(url)
    if parts.scheme != "ws" or parts.hostname not in LOOPBACK:
        raise ValueError("the benchmark only targets plain ws:// on loopback addresses")
    host, port = parts.hostname, parts.port or 80
    path = parts.path or "/"
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: ListenerProtocol(host, port, path, run), host, port),
        timeout,
    )
    return protocol
