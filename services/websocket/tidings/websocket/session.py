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
import uuid
from collections import deque
from typing import Any

from starlette.websockets import WebSocket

from tidings.websocket import metrics
from tidings.websocket.notifications import Batch
from tidings.websocket.protocol import Encoding, encode
from tidings.websocket.wire import DirectWire

log = logging.getLogger(__name__)

SLOW_CONSUMER_CLOSE_CODE = 4008
SLOW_CONSUMER_REASON = "Send buffer overflow: the client does not read fast enough."


class Session:
    def __init__(
        self, websocket: WebSocket, buffer_frames: int, wire: DirectWire | None = None
    ) -> None:
        self.id = uuid.uuid4().hex
        self._websocket = websocket
        self._wire = wire  # the fast path for pushes, when the server offers one (wire.py)
        self._limit = max(1, buffer_frames)
        # (encoded frame, commit time of a pushed message or None for a reply). A deque and a
        # wake-up future rather than an asyncio.Queue: this is the per-frame path of every push.
        self._frames: deque[tuple[str | bytes, float | None]] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._idle = False  # the writer waits for frames (is not in the middle of a send)
        self.closing = asyncio.Event()
        self._drained = asyncio.Event()  # set by the writer after each frame it sent
        self.close_code = 1000
        self.close_reason = ""

    def send(self, value: Any, encoding: Encoding) -> bool:
        """Queue a reply frame without waiting; False once the socket is closing."""
        return self.send_encoded(encode(value, encoding), None)

    def push(self, batch: Batch, encoding: Encoding) -> bool:
        """Send a batch of notification frames now, in one write, if nothing of this socket is
        ahead of them (its writer idle, its buffer empty), else queue them; False once the
        socket is closing."""
        wire = self._wire
        if (
            wire is not None
            and self._idle
            and not self._frames
            and not self.closing.is_set()
            and wire.try_write(batch, encoding)
        ):
            metrics.PUSHES.record(batch.items[0].created, len(batch.items), direct=True)
            return True
        for pushed in batch.items:
            if not self.send_encoded(pushed.encoded(encoding), pushed.created):
                return False
        return True

    def send_encoded(self, data: str | bytes, created: float | None = None) -> bool:
        """Queue an encoded frame (``created``: a push's commit time); never waits."""
        if self.closing.is_set():
            return False
        if len(self._frames) >= self._limit:
            metrics.SLOW_CONSUMERS.inc()
            log.warning("socket %s: send buffer overflow, closing", self.id)
            self.abort(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_REASON)
            return False
        self._frames.append((data, created))
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        return True

    def abort(self, code: int, reason: str) -> None:
        if not self.closing.is_set():
            self.close_code, self.close_reason = code, reason
            self.closing.set()

    async def write_loop(self) -> None:
        frames = self._frames
        loop = asyncio.get_running_loop()
        while True:
            if not frames:
                self._wakeup = loop.create_future()
                self._idle = True
                try:
                    await self._wakeup
                finally:
                    self._idle = False
                    self._wakeup = None
                continue
            data, created = frames.popleft()
            if isinstance(data, str):
                await self._websocket.send_text(data)
            else:
                await self._websocket.send_bytes(data)
            self._drained.set()
            if created is not None:
                metrics.PUSHES.record(created)

    async def room(self, frames: int) -> bool:
        """Wait until ``frames`` more fit in the buffer (paced producers); False if closing."""
        needed = min(frames, self._limit)
        while self._limit - len(self._frames) < needed:
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
            while self._frames:
                self._drained.clear()
                await self._drained.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained(), timeout)

    async def close(self, timeout: float) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._websocket.close(self.close_code, self.close_reason), timeout
            )
