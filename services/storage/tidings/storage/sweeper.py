"""Removes expired rows in bounded batches (queries already ignore them; this frees space)."""

from __future__ import annotations

import asyncio
import logging

from tidings.common.tasks import cancel_and_wait
from tidings.storage import metrics
from tidings.storage.drivers.maintenance import MaintenanceOps

log = logging.getLogger(__name__)

# At most this many batches per pass, so a backlog is worked off without starving the loop.
MAX_BATCHES_PER_PASS = 10


class Sweeper:
    def __init__(self, driver: MaintenanceOps, interval: float, batch_size: int) -> None:
        self._driver = driver
        self._interval = interval
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sweeper")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def sweep_once(self) -> int:
        removed = 0
        for _ in range(MAX_BATCHES_PER_PASS):
            batch = await self._driver.sweep_expired(self._batch_size)
            removed += batch
            if batch < self._batch_size:
                break
        metrics.SWEPT_ROWS.inc(removed)
        return removed

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # a database outage must not end the sweeper
                log.exception("sweep failed")
            await asyncio.sleep(self._interval)
