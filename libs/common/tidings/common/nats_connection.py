"""One NATS connection per process, opened in the background and re-opened forever.

A service must start, answer its health probes and give fast 503s while NATS is down, then
recover by itself when NATS returns; so the first connect is retried in a background task
instead of failing the lifespan, and nats-py's own reconnect handles later outages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client as NATS

log = logging.getLogger(__name__)

OnConnect = Callable[[NATS], Awaitable[None]]


class NatsConnection:
    def __init__(self, url: str, name: str, on_connect: OnConnect | None = None) -> None:
        self.url = url
        self.name = name
        self._on_connect = on_connect
        self._client: NATS | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    @property
    def client(self) -> NATS | None:
        client = self._client
        if client is None or not client.is_connected:
            return None
        return client

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"nats-connect-{self.name}")

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _connect_forever(self) -> None:
        delay = 0.1
        while True:
            try:
                client = await nats.connect(
                    self.url,
                    name=self.name,
                    connect_timeout=2,
                    reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1,
                    ping_interval=5,
                    max_outstanding_pings=3,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
            except Exception as exc:  # nats-py raises plain OSError/TimeoutError/NoServersError
                log.warning("NATS at %s not reachable (%s); retrying", self.url, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._client = client
            if self._on_connect is not None:
                await self._on_connect(client)
            self.ready.set()
            log.info("connected to NATS at %s", self.url)
            return

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error: %s", exc)

    async def _on_disconnected(self) -> None:
        log.warning("disconnected from NATS")

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS")

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        client = self._client
        if client is not None and not client.is_closed:
            try:
                await asyncio.wait_for(client.drain(), 5)
            except Exception:  # closing anyway: a failed drain must not block shutdown
                await client.close()
