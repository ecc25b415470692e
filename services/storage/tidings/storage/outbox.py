"""The outbox relay: publishes committed events to JetStream, at least once, de-duplicated.

Posts write their event into the ``outbox`` table in the same transaction as the messages. The
relay publishes each row with ``Nats-Msg-Id`` = the event id, waits for the JetStream ack and
only then marks the row published. A crash between commit and publish (or between publish and
mark) leaves the row unpublished; the periodic pass publishes it again, and JetStream's
duplicate window drops the copy if the first publish had landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client as NATS
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from tidings.common.nats_connection import NatsConnection
from tidings.common.subjects import EVENTS_PREFIX, EVENTS_STREAM
from tidings.storage import metrics
from tidings.storage.drivers.maintenance import MaintenanceOps, OutboxRow

log = logging.getLogger(__name__)

BATCH = 200
PUBLISH_TIMEOUT = 5.0


async def ensure_events_stream(client: NATS, duplicate_window: float) -> None:
    """Create the events stream unless it exists (another replica may win the race)."""
    js = client.jetstream()
    try:
        await js.stream_info(EVENTS_STREAM)
        return
    except NotFoundError:
        pass
    config = StreamConfig(
        name=EVENTS_STREAM,
        subjects=[f"{EVENTS_PREFIX}.>"],
        storage=StorageType.FILE,
        duplicate_window=duplicate_window,
    )
    try:
        await js.add_stream(config)
        log.info("created JetStream stream %s", EVENTS_STREAM)
    except BadRequestError:  # created concurrently by another replica
        await js.stream_info(EVENTS_STREAM)


class OutboxRelay:
    def __init__(
        self, driver: MaintenanceOps, connection: NatsConnection, retry_after: float
    ) -> None:
        self._driver = driver
        self._connection = connection
        self._retry_after = retry_after
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Called after a commit that wrote events: publish them now."""
        self._wakeup.set()

    def start(self) -> None:
        # The first pass runs at once: rows a crashed predecessor committed but never
        # published go out as soon as this replica is up.
        self._wakeup.set()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            notified = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._retry_after)
                notified = True
            self._wakeup.clear()
            try:
                # A notification means fresh rows of this replica; the timer pass picks up
                # rows nobody published in time (a crashed replica's, or failed publishes).
                cutoff = None if notified else self._driver.clock() - self._retry_after
                await self.publish_pending(cutoff)
            except Exception:  # the relay must outlive any outage; the rows wait in the table
                log.exception("outbox relay pass failed")

    async def publish_pending(self, created_before: float | None = None) -> int:
        """Publish unpublished rows in batches until none is left; return how many went."""
        published = 0
        while True:
            client = self._connection.client
            if client is None:
                return published
            rows = await self._driver.outbox_pending(BATCH, created_before)
            if not rows:
                return published
            done = await self._publish(client, rows)
            await self._driver.outbox_mark_published(done)
            published += len(done)
            metrics.OUTBOX_PUBLISHED.inc(len(done))
            if len(done) < len(rows) or len(rows) < BATCH:
                return published

    async def _publish(self, client: NATS, rows: list[OutboxRow]) -> list[int]:
        """Publish subjects in parallel, each subject's rows in order; return the acked ids.

        A failure stops that subject's run, so a queue's events never overtake each other.
        """
        js = client.jetstream()
        by_subject: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_subject.setdefault(row.subject, []).append(row)

        async def in_order(run: list[OutboxRow]) -> list[int]:
            acked: list[int] = []
            for row in run:
                try:
                    await js.publish(
                        row.subject,
                        row.payload.encode(),
                        timeout=PUBLISH_TIMEOUT,
                        headers={"Nats-Msg-Id": row.event_id},
                    )
                except Exception as exc:  # stays unpublished; the next pass retries it
                    log.warning("publishing event %s failed: %s", row.event_id, exc)
                    break
                acked.append(row.id)
            return acked

        runs = await asyncio.gather(*(in_order(run) for run in by_subject.values()))
        return [row_id for run in runs for row_id in run]
