"""Maintenance queries: the bounded expiry sweep and the outbox the relay reads."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tidings.storage.drivers.base import SqlBase
from tidings.storage.drivers.runner import StatementRunner
from tidings.storage.drivers.statements import DELETE_EVENTS
from tidings.storage.tables import claims, messages, outbox


@dataclass(frozen=True)
class OutboxEvent:
    """An event row as the relay needs it: written in the post's transaction, keyed by id."""

    event_id: str
    subject: str
    payload: str


class MaintenanceOps(SqlBase):
    # Events JetStream has acknowledged whose outbox rows are still there. The next post batch
    # deletes them inside its own transaction (see MessageOps._post_batch): a statement more
    # in a transaction that commits anyway, instead of a transaction (and a WAL flush) of its
    # own per relay pass. With no post coming, the relay deletes them itself after a moment
    # (outbox_delete_published). Lost in a crash, they are published again and JetStream's
    # duplicate window drops the copies, as for a crash between publish and delete.
    _published_event_ids: list[str]
    _published_since: float | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._published_event_ids = []
        self._published_since = None

    async def sweep_expired(self, batch_size: int) -> int:
        """Delete up to ``batch_size`` expired messages and claims (each).

        Queries already ignore expired rows, so sweeping is only about space: each kind is
        deleted in a bounded batch so one pass never holds a long transaction.
        """
        now = self.clock()
        removed = 0
        for table in (messages, claims):
            key, expires = table.c.id, table.c.expires
            # Oldest first, so the plan walks the expiry index and stops at the batch size.
            # Without an order PostgreSQL may take a sequential scan "until 1,000 rows match"
            # (it guesses a third of the rows expired when its statistics lag, as they do on
            # a table filling up): 20-50 ms of CPU every pass for nothing, growing with the
            # table, when nothing has expired.
            async with self._write(f"sweep.{table.name}") as conn:
                doomed = sa.select(key).where(expires <= now).order_by(expires).limit(batch_size)
                result = await conn.execute(table.delete().where(key.in_(doomed)))
            removed += result.rowcount or 0
        return removed

    async def outbox_pending(self, limit: int, created_before: float | None) -> list[OutboxEvent]:
        """Unpublished events, oldest first; ``created_before`` limits to stragglers."""
        query = sa.select(outbox.c.event_id, outbox.c.subject, outbox.c.payload)
        if created_before is not None:
            query = query.where(outbox.c.created < created_before)
        async with self._read("outbox.pending") as conn:
            rows = (await conn.execute(query.order_by(outbox.c.id).limit(limit))).all()
        return [OutboxEvent(r.event_id, r.subject, r.payload) for r in rows]

    async def outbox_delete(self, event_ids: list[str]) -> None:
        """Forget published events: JetStream holds them now (and drops a republished copy)."""
        if not event_ids:
            return
        await self._execute("outbox.delete", DELETE_EVENTS, {"p_event_ids": event_ids})

    def outbox_delete_later(self, event_ids: list[str]) -> None:
        """Forget published events with the next post batch (or outbox_delete_published)."""
        if not event_ids:
            return
        if not self._published_event_ids:
            self._published_since = time.monotonic()
        self._published_event_ids.extend(event_ids)

    def published_waiting_since(self) -> float | None:
        """When (time.monotonic) the oldest published event still in the outbox was acked."""
        return self._published_since

    async def outbox_delete_published(self) -> int:
        """Delete, in a transaction of their own, the rows no post batch took along."""
        event_ids = self.take_published_event_ids()
        try:
            await self.outbox_delete(event_ids)
        except BaseException:
            self.give_back_published_event_ids(event_ids)
            raise
        return len(event_ids)

    @asynccontextmanager
    async def _batch_deleting_published(self, operation: str) -> AsyncIterator[StatementRunner]:
        """A write batch that also deletes the outbox rows of the events published so far."""
        published = self.take_published_event_ids()
        try:
            async with self._batch(operation) as run:
                if published:  # goes out with the batch's next statement: no round trip
                    await run.send(DELETE_EVENTS, {"p_event_ids": published})
                yield run
        except BaseException:
            self.give_back_published_event_ids(published)
            raise

    def take_published_event_ids(self) -> list[str]:
        taken, self._published_event_ids = self._published_event_ids, []
        self._published_since = None
        return taken

    def give_back_published_event_ids(self, event_ids: list[str]) -> None:
        """The transaction that was to delete them did not commit: they wait for the next (a
        failing database is not retried at once: the wait starts again)."""
        if event_ids:
            self._published_event_ids[:0] = event_ids
            self._published_since = time.monotonic()
