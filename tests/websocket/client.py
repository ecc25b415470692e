"""A small test client of the Zaqar WebSocket API: frames in JSON or MessagePack.

Replies (frames with a ``request`` key) and pushed notifications arrive on one socket; a
reader task sorts them into two queues so a test can wait for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect

CLIENT_ID = "3381af92-2b9e-11e3-b191-71861300734c"
TIMEOUT = 10.0


def new_project() -> str:
    return f"ws {uuid.uuid4().hex[:12]}"  # a space: project ids are any string


def decode(frame: str | bytes) -> Any:
    return msgpack.unpackb(frame, raw=False) if isinstance(frame, bytes) else json.loads(frame)


class WsClient:
    def __init__(self, ws: ClientConnection, project: str, binary: bool) -> None:
        self.ws = ws
        self.project = project
        self.binary = binary
        self.replies: asyncio.Queue[Any] = asyncio.Queue()
        self.pushes: asyncio.Queue[Any] = asyncio.Queue()
        self.raw_kinds: list[type] = []  # str or bytes, per frame received, in order
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, url: str, project: str | None = None, binary: bool = False, **kwargs: Any
    ) -> WsClient:
        ws = await connect(url, **kwargs)
        return cls(ws, project or new_project(), binary)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                self.raw_kinds.append(type(frame))
                value = decode(frame)
                if isinstance(value, dict) and "request" in value:
                    await self.replies.put(value)
                else:
                    await self.pushes.put(value)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Client-ID": CLIENT_ID, "X-Project-ID": self.project, **extra}

    async def send_raw(self, data: str | bytes) -> Any:
        await self.ws.send(data)
        return await asyncio.wait_for(self.replies.get(), TIMEOUT)

    async def frame(self, frame: Any, binary: bool | None = None) -> Any:
        use_binary = self.binary if binary is None else binary
        data = msgpack.packb(frame, use_bin_type=True) if use_binary else json.dumps(frame)
        return await self.send_raw(data)

    async def call(
        self,
        action: str,
        body: Any = None,
        headers: dict[str, Any] | None = None,
        binary: bool | None = None,
    ) -> tuple[int, Any]:
        """(status, body) of an action; the whole reply is in ``self.last``."""
        frame: dict[str, Any] = {"action": action, "headers": headers or self.headers()}
        if body is not None:
            frame["body"] = body
        reply = await self.frame(frame, binary)
        self.last = reply
        return reply["headers"]["status"], reply["body"]

    async def push(self, timeout: float = TIMEOUT) -> Any:
        return await asyncio.wait_for(self.pushes.get(), timeout)

    async def pushes_of(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        return [await self.push(timeout) for _ in range(count)]

    async def no_push(self, wait: float = 0.5) -> None:
        with contextlib.suppress(TimeoutError):
            extra = await asyncio.wait_for(self.pushes.get(), wait)
            raise AssertionError(f"unexpected push {extra!r}")

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
