"""The outbox relay: publishes committed events to JetStream, at least once, de-duplicated.

Posts write their events into the ``outbox`` table in the same transaction as the messages and
hand the same events to this relay once committed. The relay publishes them with
``Nats-Msg-Id`` = the event id, waits for the JetStream acks and then has the rows deleted: by
the next post batch's transaction, or by a delete of its own when no post came within
``DELETE_PUBLISHED_AFTER``. A crash between commit and publish (or between publish and delete)
leaves rows behind; the periodic straggler pass of any replica publishes rows older than
``retry_after`` again, and JetStream's duplicate window drops the copy if the first publish had
landed.

Events go out concurrently but are written to the connection in commit order, so one queue's
events reach the stream in order; only a publish that fails and is retried later can land
after a younger event of its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from tidings.common.nats_connection import NatsConnection
from tidings.common.subjects import EVENTS_PREFIX, EVENTS_STREAM
from tidings.common.tasks import cancel_and_wait
from tidings.storage import metrics
from tidings.storage.drivers.maintenance import MaintenanceOps, OutboxEvent

log = logging.getLogger(__name__)

BATCH = 200
PUBLISH_TIMEOUT = 5.0
# Seconds the rows of published events wait for a post batch to delete them along (under load
# the next batch comes within milliseconds); far below any straggler ``retry_after``, so they
# are not published again meanwhile.
DELETE_PUBLISHED_AFTER = 0.5


@dataclass(frozen=True)
class EventsRetention:
    """How long and how much the events stream keeps: without a limit JetStream keeps every
    event (every posted body) forever, handled or not, until its disk is full."""

    duplicate_window: float
    max_age: float
    max_bytes: int = -1  # no cap


def events_stream_config(retention: EventsRetention) -> StreamConfig:
    return StreamConfig(
        name=EVENTS_STREAM,
        subjects=[f"{EVENTS_PREFIX}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        # JetStream refuses a duplicate window longer than the stream keeps its events.
        duplicate_window=min(retention.duplicate_window, retention.max_age),
        max_age=retention.max_age,
        max_bytes=retention.max_bytes,
    )


async def ensure_events_stream(client: NATS, retention: EventsRetention) -> None:
    """Create the events stream unless it exists (another replica may win the race); bring an
    existing stream's limits to ``retention`` (a stream from an older version had none)."""
    js = client.jetstream()
    wanted = events_stream_config(retention)
    try:
        found = (await js.stream_info(EVENTS_STREAM)).config
    except NotFoundError:
        try:
            await js.add_stream(wanted)
            log.info("created JetStream stream %s", EVENTS_STREAM)
            return
        except BadRequestError:  # created concurrently by another replica
            found = (await js.stream_info(EVENTS_STREAM)).config
    if _limits(found) != _limits(wanted):
        # Only the limits are ours to change: subjects, storage and retention stay as made.
        updated = dataclasses.replace(
            found,
            duplicate_window=wanted.duplicate_window,
            max_age=wanted.max_age,
            max_bytes=wanted.max_bytes,
            discard=wanted.discard,
        )
        await js.update_stream(updated)
        log.info("updated the limits of JetStream stream %s to %s", EVENTS_STREAM, retention)


def _limits(config: StreamConfig) -> tuple[object, ...]:
    # The server reports unset limits as 0 (ages) or -1 (sizes); compare in those terms.
    return (
        config.duplicate_window or 0.0,
        config.max_age or 0.0,
        config.max_bytes if config.max_bytes is not None else -1,
        config.discard or DiscardPolicy.OLD,
    )


class OutboxRelay:
    def __init__(
        self, driver: MaintenanceOps, connection: NatsConnection, retry_after: float
    ) -> None:
        self._driver = driver
        self._connection = connection
        self._retry_after = retry_after
        self._fresh: list[OutboxEvent] = []  # committed here, not yet published
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_straggler_pass = 0.0  # the first pass runs at once

    def notify(self, events: Sequence[OutboxEvent] = ()) -> None:
        """Called after a commit with the events it wrote (or none): publish now."""
        self._fresh.extend(events)
        self._wakeup.set()

    def start(self) -> None:
        # The first straggler pass runs at once: rows a crashed predecessor committed but
        # never published go out as soon as this replica is up.
        self._next_straggler_pass = 0.0
        self._wakeup.set()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def flush(self) -> None:
        """Publish everything this replica committed and everything left in the table."""
        await self._publish_fresh()
        await self._driver.outbox_delete_published()
        await self.publish_pending()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wait = max(0.0, min(self._next_straggler_pass - loop.time(), self._delete_in()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)
            self._wakeup.clear()
            try:
                await self._publish_fresh()
                if self._delete_in() <= 0:  # no post batch took them along
                    await self._driver.outbox_delete_published()
                # Timed, not only when idle: under steady load a crashed replica's rows must
                # still go out within about ``retry_after``.
                if loop.time() >= self._next_straggler_pass:
                    self._next_straggler_pass = loop.time() + self._retry_after
                    await self.publish_pending(self._driver.clock() - self._retry_after)
            except Exception:  # the relay must outlive any outage; the rows wait in the table
                log.exception("outbox relay pass failed")

    def _delete_in(self) -> float:
        """Seconds until published rows no post batch took along get a delete of their own."""
        since = self._driver.published_waiting_since()
        if since is None:
            return float("inf")
        return since + DELETE_PUBLISHED_AFTER - time.monotonic()

    async def _publish_fresh(self) -> None:
        # Events whose publish fails stay in the table for the straggler pass; keeping them
        # in memory too would only publish them twice.
        while self._fresh:
            events, self._fresh = self._fresh[:BATCH], self._fresh[BATCH:]
            client = self._connection.client
            if client is None:
                return
            acked = await self._publish(client, events)
            self._driver.outbox_delete_later(acked)
            metrics.OUTBOX_PUBLISHED.inc(len(acked))

    async def publish_pending(self, created_before: float | None = None) -> int:
        """Publish rows from the table in batches until none is left; return how many went."""
        published = 0
        while True:
            if self._connection.client is None:
                return published
            rows = await self._driver.outbox_pending(BATCH, created_before)
            if not rows:
                return published
            done = await self._publish_and_forget(rows)
            published += done
            if done < len(rows) or len(rows) < BATCH:
                return published

    async def _publish_and_forget(self, events: list[OutboxEvent]) -> int:
        client = self._connection.client
        if client is None:
            return 0
        acked = await self._publish(client, events)
        await self._driver.outbox_delete(acked)
        metrics.OUTBOX_PUBLISHED.inc(len(acked))
        return len(acked)

    async def _publish(self, client: NATS, events: list[OutboxEvent]) -> list[str]:
        """Publish all events at once (written in order, acked in any order); return the acked."""
        js = client.jetstream()

        async def publish(event: OutboxEvent) -> str | None:
            try:
                await js.publish(
                    event.subject,
                    event.payload.encode(),
                    timeout=PUBLISH_TIMEOUT,
                    headers={"Nats-Msg-Id": event.event_id},
                )
            except Exception as exc:  # stays in the table; the straggler pass retries it
                log.warning("publishing event %s failed: %s", event.event_id, exc)
                return None
            return event.event_id

        outcomes = await asyncio.gather(*(publish(event) for event in events))
        return [event_id for event_id in outcomes if event_id is not None]
