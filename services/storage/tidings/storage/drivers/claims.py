"""Claim operations: exclusive hand-out of messages, renewal, release, dead-lettering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.common import schemas as s
from tidings.common.errors import NotFound
from tidings.storage import metrics
from tidings.storage.drivers.base import SqlBase, is_id
from tidings.storage.drivers.queue_heads import QueueHeads
from tidings.storage.drivers.queue_info import QueueInfo
from tidings.storage.drivers.statements import (
    DEAD_LETTER_MARK,
    alive,
    claim_in_one_statement,
    hold_values,
    unclaimed,
)
from tidings.storage.ids import new_id
from tidings.storage.tables import claims, messages, queues


class ClaimOps(SqlBase):
    # Whether the database runs data-modifying CTEs (PostgreSQL), so that a claim can be made
    # by one autocommit statement.
    claims_in_one_statement = False
    # Where each queue's oldest row may be, learnt by the one-statement claims.
    queue_heads: QueueHeads

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue_heads = QueueHeads()

    async def claim_create(self, req: s.ClaimCreateRequest) -> s.ClaimCreateReply:
        if self.claims_in_one_statement:
            reply = await self._claim_in_one_statement(req)
            if reply is not None:
                return reply
        async with self._write("claim.create") as conn:
            now = self.clock()
            queue = await self._queue(conn, req.project, req.queue)
            if queue is None:
                return s.ClaimCreateReply(claim_id=None, messages=[])
            if queue.dead_letter_queue is None:
                held = await self._claim_free(conn, queue, req, now)
            else:
                held = await self._claim_or_dead_letter(conn, queue, req, now)
            if not held:
                return s.ClaimCreateReply(claim_id=None, messages=[])
            claim_id = held[0].claim_id
            await conn.execute(
                claims.insert().values(
                    id=claim_id,
                    queue_id=queue.id,
                    ttl=req.ttl,
                    grace=req.grace,
                    updated=now,
                    expires=now + req.ttl,
                    message_ids=join_ids(m.id for m in held),
                )
            )
        metrics.MESSAGES_CLAIMED.inc(len(held))
        return s.ClaimCreateReply(claim_id=claim_id, messages=held)

    async def _claim_in_one_statement(self, req: s.ClaimCreateRequest) -> s.ClaimCreateReply | None:
        """Find the queue, pick, hold and record the claim in one round trip.

        Returns None for a queue that may dead-letter: the general path decides per message.
        """
        now = self.clock()
        claim_id = new_id()
        head = self.queue_heads.get(req.project, req.queue)
        params = {
            "p_project": req.project,
            "p_queue": req.queue,
            "p_now": now,
            "p_limit": req.limit,
            "p_claim_id": claim_id,
            "p_ttl": req.ttl,
            "p_grace": req.grace,
            "p_claim_expires": now + req.ttl,
            "p_head_queue_id": head.queue_id,
            "p_head_seq": head.seq,
        }
        rows = await self._fetch("claim.create", claim_in_one_statement(), params, write=True)
        if not rows:  # no such queue
            return s.ClaimCreateReply(claim_id=None, messages=[])
        if rows[0].head_queue_id is not None:
            self.queue_heads.learn(req.project, req.queue, rows[0].head_queue_id, rows[0].head_seq)
        if rows[0].id is None:
            if DEAD_LETTER_MARK in rows[0].metadata:
                return None
            return s.ClaimCreateReply(claim_id=None, messages=[])
        held_messages = [self._message(row, now) for row in sorted(rows, key=lambda r: r.seq)]
        metrics.MESSAGES_CLAIMED.inc(len(held_messages))
        return s.ClaimCreateReply(claim_id=claim_id, messages=held_messages)

    def _claimable(self, queue: QueueInfo, now: float, limit: int) -> sa.Select[Any]:
        """The oldest free messages, locked; SKIP LOCKED (PostgreSQL) lets concurrent claimers,
        also on other replicas, take disjoint rows; SQLite serialises writers with BEGIN
        IMMEDIATE instead."""
        query = sa.select(messages.c.id, messages.c.claim_count).where(
            messages.c.queue_id == queue.id, alive(now), unclaimed(now)
        )
        if queue.delayed:
            query = query.where(messages.c.visible_at <= now)
        return query.order_by(messages.c.seq).limit(limit).with_for_update(skip_locked=True)

    async def _claim_free(
        self, conn: AsyncConnection, queue: QueueInfo, req: s.ClaimCreateRequest, now: float
    ) -> list[s.Message]:
        """Pick and hold in one statement: the common case costs one round trip."""
        claim_id = new_id()
        picked = self._claimable(queue, now, req.limit).with_only_columns(messages.c.id)
        rows = (
            await conn.execute(
                messages.update()
                .where(messages.c.id.in_(picked.scalar_subquery()))
                .values(hold_values(claim_id, req.ttl, req.grace, now + req.ttl))
                .returning(*messages.c)
            )
        ).all()
        return [self._message(row, now) for row in sorted(rows, key=lambda r: r.seq)]

    async def _claim_or_dead_letter(
        self, conn: AsyncConnection, queue: QueueInfo, req: s.ClaimCreateRequest, now: float
    ) -> list[s.Message]:
        """On a dead-letter queue: move what used up its claims, hold the rest."""
        rows = (await conn.execute(self._claimable(queue, now, req.limit))).all()
        dead_letter = queue.dead_letter_queue
        max_claims = queue.max_claim_count
        assert dead_letter is not None and max_claims is not None
        to_move = [r.id for r in rows if r.claim_count >= max_claims]
        moving = set(to_move)
        to_claim = [r.id for r in rows if r.id not in moving]
        if to_move:
            await self._move_to_dead_letter_queue(
                conn, req.project, dead_letter, to_move, queue, now
            )
        if not to_claim:
            return []
        claim_id = new_id()
        # The claim counter only matters (and only counts) on dead-letter queues (3.2).
        await conn.execute(
            messages.update()
            .where(messages.c.id.in_(to_claim))
            .values(
                {
                    **hold_values(claim_id, req.ttl, req.grace, now + req.ttl),
                    "claim_count": messages.c.claim_count + 1,
                }
            )
        )
        return await self._held_messages(conn, held_among(claim_id, to_claim), now)

    async def _held_messages(
        self, conn: AsyncConnection, held: sa.ColumnElement[bool], now: float
    ) -> list[s.Message]:
        """The live messages a claim still holds (``held``: :func:`held_by` or
        :func:`held_among`), oldest first."""
        rows = (
            await conn.execute(sa.select(messages).where(held, alive(now)).order_by(messages.c.seq))
        ).all()
        return [self._message(row, now) for row in rows]

    async def _move_to_dead_letter_queue(
        self,
        conn: AsyncConnection,
        project: str,
        name: str,
        message_ids: Sequence[str],
        source: QueueInfo,
        now: float,
    ) -> None:
        """Move messages that used up their claims; they take the DLQ's next sequence numbers.

        Unlike Zaqar the moved message drops its claim (so it is visible in the DLQ at once)
        and the DLQ ttl really changes its lifetime, not only the reported ttl.
        """
        await self._ensure_queue(conn, project, name)
        row = (
            await conn.execute(
                queues.update()
                .where(queues.c.project == project, queues.c.name == name)
                .values(last_seq=queues.c.last_seq + len(message_ids))
                .returning(queues.c.id, queues.c.last_seq)
            )
        ).one()
        first_seq = int(row.last_seq) - len(message_ids) + 1
        ttl = source.dead_letter_ttl
        for offset, message_id in enumerate(message_ids):
            values: dict[str, Any] = {
                "queue_id": row.id,
                "seq": first_seq + offset,
                "claim_id": None,
                "claim_expires": None,
                "visible_at": now,
            }
            if ttl is not None:
                values.update(ttl=ttl, expires=now + ttl, created=now)
            await conn.execute(messages.update().where(messages.c.id == message_id).values(values))

    async def _live_claim(
        self,
        conn: AsyncConnection,
        req: s.ClaimRequest | s.ClaimRenewRequest,
        now: float,
        *,
        lock: bool = False,
    ) -> Any:
        if not is_id(req.claim_id):
            return None
        queue = await self._queue(conn, req.project, req.queue)
        if queue is None:
            return None
        query = sa.select(claims).where(
            claims.c.id == req.claim_id, claims.c.queue_id == queue.id, claims.c.expires > now
        )
        if lock:
            query = query.with_for_update()
        return (await conn.execute(query)).first()

    async def claim_get(self, req: s.ClaimRequest) -> s.ClaimGetReply:
        async with self._read("claim.get") as conn:
            now = self.clock()
            claim = await self._live_claim(conn, req, now)
            if claim is None:
                raise NotFound()
            held = await self._held_messages(conn, held_by(claim), now)
        if not held:  # every claimed message is gone: the claim is no more (spec 2.8.2)
            raise NotFound()
        return s.ClaimGetReply(
            claim_id=claim.id, ttl=claim.ttl, age=max(0, int(now - claim.updated)), messages=held
        )

    async def claim_renew(self, req: s.ClaimRenewRequest) -> s.Empty:
        async with self._write("claim.renew") as conn:
            now = self.clock()
            claim = await self._live_claim(conn, req, now, lock=True)
            if claim is None:
                raise NotFound()
            expires = now + req.ttl
            await conn.execute(
                claims.update()
                .where(claims.c.id == claim.id)
                .values(ttl=req.ttl, grace=req.grace, updated=now, expires=expires)
            )
            # Only live messages: renewing must not resurrect one that already expired.
            await conn.execute(
                messages.update()
                .where(held_by(claim), alive(now))
                .values(hold_values(claim.id, req.ttl, req.grace, expires))
            )
        return s.Empty()

    async def claim_release(self, req: s.ClaimRequest) -> s.Empty:
        if not is_id(req.claim_id):
            return s.Empty()
        async with self._write("claim.release") as conn:
            queue = await self._queue(conn, req.project, req.queue)
            if queue is None:
                return s.Empty()
            claim = (
                await conn.execute(
                    claims.delete()
                    .where(claims.c.id == req.claim_id, claims.c.queue_id == queue.id)
                    .returning(claims.c.id, claims.c.queue_id, claims.c.message_ids)
                )
            ).first()
            if claim is not None:
                await conn.execute(
                    messages.update()
                    .where(held_by(claim))
                    .values(claim_id=None, claim_expires=None)
                )
        return s.Empty()


def join_ids(ids: Iterable[str]) -> str:
    """A claim's message ids as ``claims.message_ids`` keeps them (ids hold no comma)."""
    return ",".join(ids)


def held_by(claim: Any) -> sa.ColumnElement[bool]:
    """The messages a claim holds, given its ``claims`` row (id, queue_id, message_ids).

    The ids recorded with the claim find them by primary key. A claim written by a replica
    from before migration 0008 has none recorded: its queue is searched instead.
    """
    if claim.message_ids is None:
        return sa.and_(messages.c.queue_id == claim.queue_id, messages.c.claim_id == claim.id)
    return held_among(claim.id, claim.message_ids.split(",") if claim.message_ids else [])


def held_among(claim_id: str, message_ids: Sequence[str]) -> sa.ColumnElement[bool]:
    """Those of the messages ``message_ids`` that the claim ``claim_id`` holds."""
    return sa.and_(messages.c.id.in_(message_ids), messages.c.claim_id == claim_id)
