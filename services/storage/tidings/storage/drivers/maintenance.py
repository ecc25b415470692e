"""Maintenance queries: the bounded expiry sweep and the outbox the relay reads."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.drivers.base import SqlBase
from tidings.storage.drivers.messages import OutboxEvent
from tidings.storage.drivers.statements import DELETE_EVENTS
from tidings.storage.tables import claims, messages, outbox


class MaintenanceOps(SqlBase):
    async def sweep_expired(self, batch_size: int) -> int:
        """Delete up to ``batch_size`` expired messages and claims (each).

        Queries already ignore expired rows, so sweeping is only about space: each kind is
        deleted in a bounded batch so one pass never holds a long transaction.
        """
        now = self.clock()
        removed = 0
        targets: list[tuple[sa.Table, sa.ColumnElement[bool]]] = [
            (messages, messages.c.expires <= now),
            (claims, claims.c.expires <= now),
        ]
        for table, expired in targets:
            key = table.c.id
            async with self._write(f"sweep.{table.name}") as conn:
                doomed = sa.select(key).where(expired).limit(batch_size)
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
