"""Maintenance queries: the bounded expiry sweep and the outbox the relay reads."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tidings.storage.drivers.base import SqlBase
from tidings.storage.tables import claims, messages, outbox


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    subject: str
    payload: str


class MaintenanceOps(SqlBase):
    async def sweep_expired(self, batch_size: int) -> int:
        """Delete up to ``batch_size`` expired messages, claims and old published events.

        Queries already ignore expired rows, so sweeping is only about space: each kind is
        deleted in a bounded batch so one pass never holds a long transaction.
        """
        now = self.clock()
        removed = 0
        targets: list[tuple[sa.Table, sa.ColumnElement[bool]]] = [
            (messages, messages.c.expires <= now),
            (claims, claims.c.expires <= now),
            (
                outbox,
                sa.and_(
                    outbox.c.published.is_not(None),
                    outbox.c.published <= now - self.settings.outbox_retention,
                ),
            ),
        ]
        for table, expired in targets:
            key = table.c.id
            async with self._write(f"sweep.{table.name}") as conn:
                doomed = sa.select(key).where(expired).limit(batch_size)
                result = await conn.execute(table.delete().where(key.in_(doomed)))
            removed += result.rowcount or 0
        return removed

    async def outbox_pending(self, limit: int, created_before: float | None) -> list[OutboxRow]:
        """Unpublished events, oldest first; ``created_before`` limits to stragglers."""
        query = sa.select(outbox.c.id, outbox.c.event_id, outbox.c.subject, outbox.c.payload).where(
            outbox.c.published.is_(None)
        )
        if created_before is not None:
            query = query.where(outbox.c.created < created_before)
        async with self._read("outbox.pending") as conn:
            rows = (await conn.execute(query.order_by(outbox.c.id).limit(limit))).all()
        return [OutboxRow(r.id, r.event_id, r.subject, r.payload) for r in rows]

    async def outbox_mark_published(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self._write("outbox.mark") as conn:
            await conn.execute(
                outbox.update().where(outbox.c.id.in_(ids)).values(published=self.clock())
            )
