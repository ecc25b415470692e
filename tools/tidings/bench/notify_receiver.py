"""The webhook receiver of the notifier benchmark: a lean asyncio HTTP/1.1 server.

It must cost little CPU per request, since it shares the machine with the suite it measures:
requests are parsed by Content-Length on keep-alive connections and answered with an empty
200. For each notification it keeps the subscriber path, the post number and the delay from
the poster's clock (``time.monotonic()``, one clock for every process of the machine) to the
arrival, and notices duplicates by delivery id.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
MAX_HEAD = 16384


@dataclass
class Arrivals:
    run: str
    latencies: list[float] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # delivery ids
    by_path: dict[str, set[int]] = field(default_factory=dict)
    duplicates: int = 0
    foreign: int = 0  # notifications of other runs or unreadable
    last: float = 0.0
    expected: int = 0  # set once posting ended: ``complete`` fires when that many arrived
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, count: int) -> None:
        self.expected = count
        if len(self.latencies) >= count:
            self.complete.set()

    def record(self, path: str, delivery_id: str, body: bytes) -> None:
        now = time.monotonic()
        try:
            payload = orjson.loads(body)
            message = payload["body"]
            if message.get("run") != self.run:
                self.foreign += 1
                return
            number, sent = int(message["i"]), float(message["t"])
        except (ValueError, KeyError, TypeError, AttributeError):
            self.foreign += 1
            return
        if delivery_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(delivery_id)
        self.by_path.setdefault(path, set()).add(number)
        self.latencies.append(now - sent)
        self.last = now
        if self.expected and len(self.latencies) >= self.expected:
            self.complete.set()


class _Protocol(asyncio.Protocol):
    def __init__(self, arrivals: Arrivals) -> None:
        self._arrivals = arrivals
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD and self._transport is not None:
                    self._transport.close()
                return
            head = self._buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            delivery_id = ""
            for line in head[1:]:
                name, _, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "content-length":
                    length = int(value.strip())
                elif lowered == "x-tidings-delivery-id":
                    delivery_id = value.strip()
            if len(self._buffer) < end + 4 + length:
                return
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            parts = head[0].split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            self._arrivals.record(path, delivery_id, body)
            if self._transport is not None:
                self._transport.write(OK)


async def start_receiver(arrivals: Arrivals, port: int = 0) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _Protocol(arrivals), "127.0.0.1", port)
