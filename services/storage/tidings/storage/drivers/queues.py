"""Queue operations: lazy queues, listing, JSON-patch of stored metadata, stats, purge."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.common import schemas as s
from tidings.common.errors import Conflict, NotFound
from tidings.common.validation import validate_queue_metadata
from tidings.storage.drivers.base import marker_before_nul
from tidings.storage.drivers.runner import SqlAlchemyRunner
from tidings.storage.drivers.statements import alive
from tidings.storage.drivers.usage import UsageOps
from tidings.storage.tables import claims, messages, queues

# The reserved keys that PATCH may replace or remove even when they are not stored (spec 2.6).
RESERVED_KEYS = frozenset(
    {
        "_max_messages_post_size",
        "_default_message_ttl",
        "_default_message_delay",
        "_dead_letter_queue",
        "_dead_letter_queue_messages_ttl",
        "_max_claim_count",
        "_enable_encrypt_messages",
    }
)

# Queue list pages are scanned in chunks of this many names when metadata filters apply,
# because filters compare JSON values in Python (the same way on both databases).
_FILTER_SCAN_CHUNK = 200


def _same_json(a: Any, b: Any) -> bool:
    # JSON true is not the number 1, although Python says True == 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


class QueueOps(UsageOps):
    def _name_contains(self, text: str) -> sa.ColumnElement[bool]:
        """Case-sensitive substring test (LIKE is case-insensitive on SQLite)."""
        raise NotImplementedError

    async def queue_list(self, req: s.QueueListRequest) -> s.QueueListReply:
        async with self._read("queue.list") as conn:
            items = await self._list_queue_rows(conn, req)
            count: int | None = None
            if req.with_count:
                total = await conn.scalar(
                    sa.select(sa.func.count()).where(queues.c.project == req.project)
                )
                count = int(total or 0) or None  # Zaqar omits a zero count
        return s.QueueListReply(queues=items, count=count)

    async def _list_queue_rows(
        self, conn: AsyncConnection, req: s.QueueListRequest
    ) -> list[s.QueueItem]:
        if req.name and "\0" in req.name:
            return []  # no queue name holds a NUL (and PostgreSQL could not compare one)
        base = sa.select(queues.c.name, queues.c.metadata).where(queues.c.project == req.project)
        if req.name:
            base = base.where(self._name_contains(req.name))
        items: list[s.QueueItem] = []
        marker = marker_before_nul(req.marker)
        chunk = req.limit if not req.filters else max(req.limit, _FILTER_SCAN_CHUNK)
        while len(items) < req.limit:
            query = base
            if marker is not None:
                query = query.where(queues.c.name > marker)
            rows = (await conn.execute(query.order_by(queues.c.name).limit(chunk))).all()
            for row in rows:
                metadata: dict[str, JsonValue] = json.loads(row.metadata)
                if all(
                    key in metadata and _same_json(metadata[key], value)
                    for key, value in req.filters.items()
                ):
                    items.append(
                        s.QueueItem(name=row.name, metadata=metadata if req.detailed else None)
                    )
                    if len(items) == req.limit:
                        break
            if len(rows) < chunk:
                break
            marker = rows[-1].name
        return items

    async def queue_create(self, req: s.QueueCreateRequest) -> s.QueueCreateReply:
        # An existing queue keeps its metadata (spec 2.5.2): PATCH is the way to change it.
        async with self._write("queue.create") as conn:
            await self._check_queue_room(SqlAlchemyRunner(conn), req.project, req.queue)
            created = await self._ensure_queue(
                conn, req.project, req.queue, json.dumps(req.metadata)
            )
        return s.QueueCreateReply(created=created)

    async def queue_get(self, req: s.QueueScoped) -> s.QueueGetReply:
        async with self._read("queue.get") as conn:
            queue = await self._queue(conn, req.project, req.queue)
        if queue is None:
            return s.QueueGetReply(exists=False)
        return s.QueueGetReply(exists=True, metadata=queue.metadata)

    async def queue_patch(self, req: s.QueuePatchRequest) -> s.QueueMetadataReply:
        async with self._write("queue.patch") as conn:
            # The row lock makes read-modify-write atomic against concurrent patches.
            queue = await self._queue(conn, req.project, req.queue, lock=True)
            if queue is None:
                raise NotFound("Queue does not exist.")
            metadata = dict(queue.metadata)
            for operation in req.operations:
                _apply(metadata, operation)
            validate_queue_metadata(metadata, self.settings)
            await conn.execute(
                queues.update().where(queues.c.id == queue.id).values(metadata=json.dumps(metadata))
            )
        return s.QueueMetadataReply(metadata=metadata)

    async def queue_delete(self, req: s.QueueScoped) -> s.Empty:
        async with self._write("queue.delete") as conn:
            queue = await self._queue(conn, req.project, req.queue, lock=True)
            if queue is not None:
                await self._delete_queue_messages(conn, queue.id)
                # Subscriptions outlive their queue (spec 2.5.5): nothing else is removed.
                await conn.execute(queues.delete().where(queues.c.id == queue.id))
        return s.Empty()

    async def queue_stats(self, req: s.QueueScoped) -> s.QueueStatsReply:
        async with self._read("queue.stats") as conn:
            now = self.clock()
            queue = await self._queue(conn, req.project, req.queue)
            if queue is None:
                return s.QueueStatsReply(claimed=0, free=0, total=0)
            live = sa.and_(messages.c.queue_id == queue.id, alive(now))
            claimed_now = sa.and_(messages.c.claim_id.is_not(None), messages.c.claim_expires > now)
            row = (
                await conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.coalesce(sa.func.sum(sa.case((claimed_now, 1), else_=0)), 0),
                    ).where(live)
                )
            ).one()
            total, claimed = int(row[0]), int(row[1])
            reply = s.QueueStatsReply(claimed=claimed, free=total - claimed, total=total)
            if total:
                ends = sa.select(messages.c.id, messages.c.created).where(live)
                oldest = (await conn.execute(ends.order_by(messages.c.seq).limit(1))).first()
                newest = (await conn.execute(ends.order_by(messages.c.seq.desc()).limit(1))).first()
                for attr, end in (("oldest", oldest), ("newest", newest)):
                    if end is not None:
                        ref = s.MessageRef(
                            id=end.id, age=max(0, int(now - end.created)), created=end.created
                        )
                        setattr(reply, attr, ref)
        return reply

    async def queue_purge(self, req: s.QueuePurgeRequest) -> s.Empty:
        async with self._write("queue.purge") as conn:
            queue = await self._queue(conn, req.project, req.queue, lock=True)
            if queue is None:
                return s.Empty()
            if "messages" in req.resource_types:
                # Claimed messages go too: Tidings fixes Zaqar's pop-based purge (spec 2.5.7).
                await self._delete_queue_messages(conn, queue.id)
            if "subscriptions" in req.resource_types:
                await self._purge_subscriptions(conn, req.project, req.queue)
        return s.Empty()

    async def _purge_subscriptions(self, conn: AsyncConnection, project: str, queue: str) -> None:
        """Extension point: storage has no subscription table yet, so there is nothing to
        remove. The subscription store overrides this to delete the queue's subscriptions in
        the same transaction as the messages."""

    async def _delete_queue_messages(self, conn: AsyncConnection, queue_id: int) -> None:
        await conn.execute(messages.delete().where(messages.c.queue_id == queue_id))
        await conn.execute(claims.delete().where(claims.c.queue_id == queue_id))


def _apply(metadata: dict[str, JsonValue], operation: s.PatchOperation) -> None:
    key = operation.key
    if operation.op == "add":
        metadata[key] = operation.value
    elif operation.op == "replace":
        if key not in metadata and key not in RESERVED_KEYS:
            raise Conflict(f"Can't replace non-existent object {key}.")
        metadata[key] = operation.value
    elif key in metadata:
        del metadata[key]
    elif key not in RESERVED_KEYS:
        raise Conflict(f"Can't remove non-existent object {key}.")
