"""One open socket: its bounded send buffer, its writer, its socket subscriptions.

Every frame for a socket, replies and pushes alike, goes through one bounded queue drained by
one writer task, so frames leave in the order they were produced and nothing that produces
them (above all the fan-out of pushes, shared by every socket of a replica) ever waits for a
slow client. A client that lets more than ``send_buffer_frames`` frames pile up is closed with
:data:`SLOW_CONSUMER_CLOSE_CODE`; the frames already buffered still reach it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from tidings.websocket import metrics
from tidings.websocket.protocol import Encoding, encode

log = logging.getLogger(__name__)

SLOW_CONSUMER_CLOSE_CODE = 4008
SLOW_CONSUMER_REASON = "Send buffer overflow: the client does not read fast enough."


@dataclass
class _Frame:
    data: str | bytes
    created: float | None  # commit time of a pushed message, for the push latency metric


class Session:
    def __init__(self, websocket: WebSocket, buffer_frames: int) -> None:
        self.id = uuid.uuid4().hex
        self._websocket = websocket
        self._frames: asyncio.Queue[_Frame] = asyncio.Queue(maxsize=max(1, buffer_frames))
        self.closing = asyncio.Event()
        self._drained = asyncio.Event()  # set by the writer after each frame it sent
        self.close_code = 1000
        self.close_reason = ""

    def send(self, value: Any, encoding: Encoding, created: float | None = None) -> bool:
        """Queue a frame without waiting; False once the socket is closing."""
        if self.closing.is_set():
            return False
        try:
            self._frames.put_nowait(_Frame(encode(value, encoding), created))
        except asyncio.QueueFull:
            metrics.SLOW_CONSUMERS.inc()
            log.warning("socket %s: send buffer overflow, closing", self.id)
            self.abort(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_REASON)
            return False
        return True

    def abort(self, code: int, reason: str) -> None:
        if not self.closing.is_set():
            self.close_code, self.close_reason = code, reason
            self.closing.set()

    async def write_loop(self) -> None:
        while True:
            frame = await self._frames.get()
            if isinstance(frame.data, str):
                await self._websocket.send_text(frame.data)
            else:
                await self._websocket.send_bytes(frame.data)
            self._drained.set()
            if frame.created is not None:
                metrics.PUSHES.inc()
                metrics.PUSH_LATENCY.observe(max(0.0, time.time() - frame.created))

    async def room(self, frames: int) -> bool:
        """Wait until ``frames`` more fit in the buffer (paced producers); False if closing."""
        needed = min(frames, self._frames.maxsize)
        while self._frames.maxsize - self._frames.qsize() < needed:
            if self.closing.is_set():
                return False
            self._drained.clear()
            waiter = asyncio.ensure_future(self._drained.wait())
            closing = asyncio.ensure_future(self.closing.wait())
            try:
                await asyncio.wait({waiter, closing}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                closing.cancel()
        return not self.closing.is_set()

    async def flush(self, timeout: float) -> None:
        """Let the writer send what is buffered (on a server-side close), within ``timeout``."""

        async def drained() -> None:
            while not self._frames.empty():
                self._drained.clear()
                await self._drained.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained(), timeout)

    async def close(self, timeout: float) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._websocket.close(self.close_code, self.close_reason), timeout
            )
