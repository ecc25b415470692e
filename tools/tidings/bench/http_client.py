"""A lean HTTP/1.1 keep-alive client for load generation.

The benchmark shares the machine with the suite it measures, so its client must cost little
CPU per request: one persistent connection per worker, requests written in one buffer, the
response read by Content-Length. It speaks only what the benchmark needs of HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection; each completed request's latency goes into ``latencies``."""

    def __init__(
        self, base_url: str, default_headers: dict[str, str], latencies: list[float] | None = None
    ) -> None:
        self._latencies = latencies if latencies is not None else []
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the benchmark only targets loopback addresses")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._header_block = "".join(f"{k}: {v}\r\n" for k, v in default_headers.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self._reader, self._writer

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Response:
        reader, writer = await self._connect()
        started = time.perf_counter()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._header_block}"
        if body is not None:
            head += f"Content-Type: {content_type or 'application/json'}\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + (body or b""))
        status_line = await reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        payload = await reader.readexactly(length) if length else b""
        self._latencies.append(time.perf_counter() - started)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, payload)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
