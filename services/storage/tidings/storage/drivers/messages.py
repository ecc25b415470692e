"""Message operations: group-committed posts (with their outbox events), reads and deletes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from tidings.common import schemas as s
from tidings.common import tracing
from tidings.common.errors import BadClaim, InvalidRequest, MessageClaimed, NotFound, TidingsError
from tidings.common.events import MESSAGES_POSTED, MessagesPostedEvent, PostedMessage
from tidings.common.logging import request_id_var
from tidings.common.subjects import event_subject
from tidings.storage import metrics
from tidings.storage.batcher import GroupCommitter
from tidings.storage.codec import checksum
from tidings.storage.drivers.base import is_id
from tidings.storage.drivers.maintenance import MaintenanceOps, OutboxEvent
from tidings.storage.drivers.queue_info import QueueInfo
from tidings.storage.drivers.runner import StatementRunner
from tidings.storage.drivers.statements import (
    BUMP_SEQUENCE,
    DELETE_MESSAGES_BY_ID,
    GIVE_BACK_SEQUENCE,
    INSERT_EVENTS,
    INSERT_MESSAGES,
    MESSAGES_BY_ID,
    alive,
    message_page,
    unclaimed,
)
from tidings.storage.drivers.usage import Usage, UsageOps
from tidings.storage.ids import new_id
from tidings.storage.tables import messages

CLAIM_EXPIRED = "The specified claim does not exist or has expired."
NOT_CLAIMED = "A claim was specified, but the message is not currently claimed."
CLAIMED = "This message is claimed; it cannot be deleted without a valid claim ID."


# A post as the group committer gets it: the request, its request id and its trace context.
_Post = tuple[s.MessagePostRequest, str, tracing.TraceHeaders | None]


KNOWN_QUEUES_LIMIT = 10_000


class _NewQueue(Exception):
    """A batch posts to a queue that does not exist yet (see MessageOps._post_batch)."""


class MessageOps(MaintenanceOps, UsageOps):
    # Each post travels with the request id and trace context of its caller: the committing
    # worker runs in a context of its own.
    _post_committer: GroupCommitter[_Post, s.MessagePostReply]
    # Called after a commit that wrote outbox rows with those rows, so the relay publishes
    # them at once without reading them back.
    on_outbox_written: Callable[[list[OutboxEvent]], None] | None = None

    # Queues this replica posted to, a hint: a batch whose queues are all in it sends their
    # sequence bumps at once; one with a queue not in it (most likely a queue's first post) goes
    # queue by queue straight away rather than after a try that rolls back. Bounded: emptied
    # when full. A queue deleted since costs its next batch the rolled-back try.
    _queues_posted_to: set[tuple[str, str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queues_posted_to = set()

    def _make_post_committer(self, workers: int) -> None:
        self._post_committer = GroupCommitter(
            "message.post",
            self._post_batch,
            max_batch=self.settings.group_commit_max_batch,
            workers=workers,
        )

    async def message_post(self, req: s.MessagePostRequest) -> s.MessagePostReply:
        return await self._post_committer.submit((req, request_id_var.get(), tracing.current()))

    async def _post_batch(self, posts: Sequence[_Post]) -> list[s.MessagePostReply | TidingsError]:
        """Every post of a batch in one transaction, with a fixed number of statements.

        One sequence bump per queue, all sent at once, then one insert of all messages and one
        of all events, whatever the number of requests: the statement count, and above all the
        round trips, not the row count, are what cost here.
        """
        queues = {(post[0].project, post[0].queue) for post in posts}
        if not self.pipelined_batches or not queues <= self._queues_posted_to:
            outcomes = await self._post_batch_once(posts, bump_at_once=False)
        else:
            try:
                outcomes = await self._post_batch_once(posts, bump_at_once=True)
            except _NewQueue:
                # A queue's first post, or one deleted since. The bumps sent at once hold the
                # locks of every queue after it; creating it now could deadlock with a replica
                # that saw it created meanwhile and locked it in its place in the order.
                # Rolled back, the batch runs again bumping (or creating) one queue after the
                # other, in order.
                outcomes = await self._post_batch_once(posts, bump_at_once=False)
        if len(self._queues_posted_to) + len(queues) > KNOWN_QUEUES_LIMIT:
            self._queues_posted_to.clear()
        self._queues_posted_to |= queues
        return outcomes

    async def _post_batch_once(
        self, posts: Sequence[_Post], *, bump_at_once: bool
    ) -> list[s.MessagePostReply | TidingsError]:
        requests = [post[0] for post in posts]
        outcomes: list[s.MessagePostReply | TidingsError | None] = [None] * len(requests)
        by_queue: dict[tuple[str, str], list[int]] = {}
        for index, req in enumerate(requests):
            by_queue.setdefault((req.project, req.queue), []).append(index)
        message_rows: list[dict[str, Any]] = []
        events: list[OutboxEvent] = []
        async with self._batch_deleting_published("message.post") as run:
            # With quotas, the projects' usage rows are locked first (see drivers.usage); without,
            # no statement is added.
            usages: dict[str, Usage] = {}
            if self.quotas.enabled:
                usages = await self._lock_usages(run, (project for project, _ in by_queue))
            # Lock queue rows in one global order, so concurrent batches cannot deadlock.
            # Bumping last_seq takes the queue row lock until commit, so posts to one queue
            # commit in sequence order and a reader paging by marker never skips a later one.
            order = sorted(by_queue)
            bumps = [
                {
                    "p_project": project,
                    "p_queue": name,
                    "p_count": sum(len(requests[i].messages) for i in by_queue[(project, name)]),
                }
                for project, name in order
            ]
            bumped: list[Sequence[Any] | None] = [None] * len(order)
            if bump_at_once:
                bumped = list(await run.fetch_each(BUMP_SEQUENCE, bumps))
                if not all(bumped):
                    raise _NewQueue
            for (project, name), bump, found in zip(order, bumps, bumped, strict=True):
                batch = [posts[i] for i in by_queue[(project, name)]]
                results = await self._post_to_queue(
                    run, bump, found, batch, message_rows, usages.get(project)
                )
                for index, (result, event) in zip(by_queue[(project, name)], results, strict=True):
                    outcomes[index] = result
                    if event is not None:
                        events.append(event)
            if usages:
                await self._save_usages(run, usages.values())
            if events:
                created = self.clock()
                await run.executemany(
                    INSERT_EVENTS,
                    [
                        {
                            "p_event_id": e.event_id,
                            "p_subject": e.subject,
                            "p_payload": e.payload,
                            "p_created": created,
                        }
                        for e in events
                    ],
                )
            if message_rows:  # last: on PostgreSQL a big batch of rows goes by COPY
                await run.insert_rows(INSERT_MESSAGES, messages, message_rows)
        metrics.MESSAGES_POSTED.inc(len(message_rows))
        if events and self.on_outbox_written is not None:
            self.on_outbox_written(events)
        return [outcome for outcome in outcomes if outcome is not None]

    async def _post_to_queue(
        self,
        run: StatementRunner,
        bump: dict[str, Any],
        found: Sequence[Any] | None,
        batch: list[_Post],
        message_rows: list[dict[str, Any]],
        usage: Usage | None = None,
    ) -> list[tuple[s.MessagePostReply | TidingsError, OutboxEvent | None]]:
        """Number the messages of one queue's posts and add their rows to ``message_rows``.

        ``bump``: the BUMP_SEQUENCE parameters of the queue; ``found``: what that bump
        returned, if it was sent already. ``usage``: the project's locked usage row when a
        quota applies to it.
        """
        total = int(bump["p_count"])
        if found is None:
            found = await run.fetch(BUMP_SEQUENCE, bump)
        if not found:  # lazy queue: posting creates it (spec 2.5)
            refusal = await self._admit_new_queue(run, usage) if usage is not None else None
            if refusal is not None:
                return [(refusal, None) for _ in batch]
            created = {
                "p_project": bump["p_project"],
                "p_queue": bump["p_queue"],
                "p_metadata": "{}",
            }
            await run.fetch(
                self._create_queue_unless_present, created | {"p_created": self.clock()}
            )
            found = await run.fetch(BUMP_SEQUENCE, bump)
        row = found[0]
        queue = QueueInfo.from_row(row.id, row.name, row.metadata, row.created)
        now = self.clock()
        next_seq = int(row.last_seq) - total + 1
        results: list[tuple[s.MessagePostReply | TidingsError, OutboxEvent | None]] = []
        for post in batch:
            req = post[0]
            try:
                self._check_post_size(queue, req.content_length)
            except TidingsError as exc:
                results.append((exc, None))
                continue
            counted = usage is not None and usage.limits.counts_messages
            rows: list[dict[str, Any]] = [] if counted else message_rows
            reply, event = self._message_rows(queue, post, next_seq, now, rows)
            if counted and usage is not None:  # measured before they join the batch
                size = sum(len(row["p_body"].encode()) for row in rows)
                refusal = await self._admit_messages(run, usage, len(rows), size)
                if refusal is not None:
                    results.append((refusal, None))
                    continue
                message_rows.extend(rows)
            next_seq += len(req.messages)
            results.append((reply, event))
        unused = int(row.last_seq) + 1 - next_seq
        if unused:  # refused posts give their numbers back: no gap in the sequence
            await run.execute(GIVE_BACK_SEQUENCE, {"p_queue_id": queue.id, "p_count": unused})
        return results

    def _message_rows(
        self,
        queue: QueueInfo,
        post: _Post,
        first_seq: int,
        now: float,
        message_rows: list[dict[str, Any]],
    ) -> tuple[s.MessagePostReply, OutboxEvent]:
        req, request_id, trace_context = post
        default_ttl = queue.default_ttl(self.settings)
        enable_checksum = self.settings.enable_checksum
        ids: list[str] = []
        posted: list[PostedMessage] = []
        for offset, message in enumerate(req.messages):
            ttl = message.ttl if message.ttl is not None else default_ttl
            delay = 0
            if queue.delayed:
                delay = message.delay if message.delay is not None else queue.default_delay
            message_id = new_id()
            message_rows.append(
                {
                    "p_id": message_id,
                    "p_queue_id": queue.id,
                    "p_seq": first_seq + offset,
                    "p_body": self.cipher.encode(message.body, queue.encrypted),
                    "p_encrypted": queue.encrypted,
                    "p_checksum": checksum(message.body) if enable_checksum else None,
                    "p_client_id": req.client_id,
                    "p_ttl": ttl,
                    "p_created": now,
                    "p_expires": now + ttl,
                    "p_visible_at": now + delay,
                    "p_claim_count": 0,
                }
            )
            ids.append(message_id)
            posted.append(
                PostedMessage(
                    id=message_id, body=message.body, ttl=ttl, delay=delay, seq=first_seq + offset
                )
            )
        event = MessagesPostedEvent(
            event_id=new_id(),
            project=req.project,
            queue=req.queue,
            client_id=req.client_id,
            created=now,
            messages=posted,
            request_id=None if request_id == "-" else request_id,
            traceparent=trace_context.traceparent if trace_context is not None else None,
            tracestate=trace_context.tracestate if trace_context is not None else None,
        )
        subject = event_subject(req.project, req.queue, MESSAGES_POSTED)
        return s.MessagePostReply(ids=ids), OutboxEvent(
            event.event_id, subject, event.model_dump_json()
        )

    def _check_post_size(self, queue: QueueInfo, content_length: int | None) -> None:
        if content_length is None:
            return
        limit = self.settings.max_messages_post_size
        queue_limit = queue.max_post_size
        if queue_limit is not None and content_length > min(queue_limit, limit):
            raise InvalidRequest(
                "Message collection size is too large. The max size for current queue is "
                f"{min(queue_limit, limit)}. It is calculated by max size = "
                f"min(max_messages_post_size_config: {limit}, "
                f"max_messages_post_size_queue: {queue_limit})."
            )
        if content_length > limit:
            raise InvalidRequest(f"Message collection size is too large. Max size {limit}")

    # ------------------------------------------------------------ reads

    async def message_list(self, req: s.MessageListRequest) -> s.MessageListReply:
        marker: int | None = None
        bad_marker = False
        if req.marker is not None:
            try:
                marker = int(req.marker)
            except ValueError:  # opaque to clients; anything else is an empty page
                bad_marker = True
        statement = message_page(
            after_marker=marker is not None,
            echo=req.echo,
            include_claimed=req.include_claimed,
            include_delayed=req.include_delayed,
        )
        now = self.clock()
        params = {
            "p_project": req.project,
            "p_queue": req.queue,
            "p_now": now,
            "p_limit": req.limit,
            "p_marker": marker,
            "p_client_id": req.client_id,
        }
        found = await self._fetch("message.list", statement, params, write=False)
        if not found:
            return s.MessageListReply(messages=[])
        delayed = QueueInfo.from_row(0, req.queue, found[0].metadata, 0).delayed
        if bad_marker:
            return s.MessageListReply(messages=[], delayed_queue=delayed)
        rows = sorted((row for row in found if row.id is not None), key=lambda r: r.seq)
        return s.MessageListReply(
            messages=[self._message(row, now) for row in rows],
            marker=str(rows[-1].seq) if rows else None,
            markers=[str(row.seq) for row in rows],
            delayed_queue=delayed,
        )

    async def message_get(self, req: s.MessageGetRequest) -> s.MessageReply:
        found = await self._get_messages(req.project, req.queue, [req.message_id], "message.get")
        if not found:
            raise NotFound()
        return s.MessageReply(message=found[0])

    async def message_get_many(self, req: s.MessageGetManyRequest) -> s.MessagesReply:
        found = await self._get_messages(req.project, req.queue, req.message_ids, "message.get")
        if not found:
            raise NotFound()
        return s.MessagesReply(messages=found)

    async def _get_messages(
        self, project: str, queue_name: str, ids: list[str], operation: str
    ) -> list[s.Message]:
        wanted = list(dict.fromkeys(i for i in ids if is_id(i)))  # malformed ids: not found
        if not wanted:
            return []
        now = self.clock()
        params = {"p_project": project, "p_queue": queue_name, "p_ids": wanted, "p_now": now}
        rows = await self._fetch(operation, MESSAGES_BY_ID, params, write=False)
        by_id = {row.id: row for row in rows}
        return [self._message(by_id[i], now) for i in wanted if i in by_id]

    # ------------------------------------------------------------ deletes

    async def message_delete(self, req: s.MessageDeleteRequest) -> s.Empty:
        if req.claim_id is not None and not is_id(req.claim_id):
            raise BadClaim(CLAIM_EXPIRED)  # checked before the message lookup (spec 2.7.7)
        if not is_id(req.message_id):
            return s.Empty()
        async with self._write("message.delete") as conn:
            now = self.clock()
            queue = await self._queue(conn, req.project, req.queue)
            if queue is None:
                return s.Empty()
            row = (
                await conn.execute(
                    sa.select(messages.c.claim_id, messages.c.claim_expires)
                    .where(
                        messages.c.queue_id == queue.id,
                        messages.c.id == req.message_id,
                        alive(now),
                    )
                    .with_for_update()
                )
            ).first()
            if row is None:
                return s.Empty()
            claimed = row.claim_id is not None and (row.claim_expires or 0) > now
            if req.claim_id is None:
                if claimed:
                    raise MessageClaimed(CLAIMED)
            elif req.claim_id != row.claim_id:
                raise MessageClaimed(CLAIMED) if claimed else BadClaim(NOT_CLAIMED)
            await conn.execute(messages.delete().where(messages.c.id == req.message_id))
        metrics.MESSAGES_DELETED.inc()
        return s.Empty()

    async def message_delete_many(self, req: s.MessageDeleteManyRequest) -> s.Empty:
        wanted = list(dict.fromkeys(i for i in req.message_ids if is_id(i)))
        if not wanted:
            return s.Empty()
        if req.claim_ids is None:  # the common case: one statement, no queue lookup first
            params = {"p_project": req.project, "p_queue": req.queue, "p_ids": wanted}
            deleted = await self._execute("message.delete_many", DELETE_MESSAGES_BY_ID, params)
            metrics.MESSAGES_DELETED.inc(deleted)
            return s.Empty()
        async with self._write("message.delete_many") as conn:
            queue = await self._queue(conn, req.project, req.queue)
            if queue is None:
                return s.Empty()
            selected = sa.and_(messages.c.queue_id == queue.id, messages.c.id.in_(wanted))
            # message_delete_with_claim_id: every claim id given must hold a listed message.
            held = set(
                (
                    await conn.execute(
                        sa.select(messages.c.claim_id).where(
                            selected, messages.c.claim_id.is_not(None)
                        )
                    )
                ).scalars()
            )
            if any(claim_id not in held for claim_id in req.claim_ids):
                raise BadClaim(CLAIM_EXPIRED)
            result = await conn.execute(messages.delete().where(selected))
        metrics.MESSAGES_DELETED.inc(result.rowcount or 0)
        return s.Empty()

    async def message_pop(self, req: s.MessagePopRequest) -> s.MessagesReply:
        async with self._write("message.pop") as conn:
            now = self.clock()
            queue = await self._queue(conn, req.project, req.queue)
            if queue is None:
                return s.MessagesReply(messages=[])
            rows = (
                await conn.execute(
                    sa.select(messages)
                    .where(
                        messages.c.queue_id == queue.id,
                        alive(now),
                        unclaimed(now),
                    )
                    .order_by(messages.c.seq)
                    .limit(req.count)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await conn.execute(messages.delete().where(messages.c.id.in_([r.id for r in rows])))
        metrics.MESSAGES_DELETED.inc(len(rows))
        # Pop answers carry the raw storage shape without checksums (spec 2.7.5).
        return s.MessagesReply(messages=[self._message(r, now, with_checksum=False) for r in rows])
