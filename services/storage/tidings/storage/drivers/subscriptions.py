"""Subscription operations (spec 2.9) and the records of deliveries the notifier gave up on.

Subscriptions are keyed by project + queue name, not by the queue's row: they outlive their
queue (spec 2.5.5) and a queue purge removes them. Every write also puts a
``subscription_changed`` event into the outbox, in the same transaction, so notifiers learn of
it (to drop cached subscriptions and to send confirmation requests) exactly as they learn of
posted messages. Expired subscriptions are invisible at once and swept in batches.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import sqlalchemy as sa
from pydantic import JsonValue
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.common import schemas as s
from tidings.common import tracing
from tidings.common.errors import Conflict, NotFound
from tidings.common.events import SUBSCRIPTION_CHANGED, SubscriptionChange, SubscriptionChangedEvent
from tidings.common.logging import request_id_var
from tidings.common.subjects import event_subject
from tidings.storage.drivers.base import is_id, marker_before_nul
from tidings.storage.drivers.maintenance import MaintenanceOps, OutboxEvent
from tidings.storage.drivers.runner import SqlAlchemyRunner
from tidings.storage.drivers.usage import UsageOps
from tidings.storage.ids import new_id
from tidings.storage.tables import failed_deliveries, outbox, queues, subscriptions

DUPLICATE = (
    "Such subscription already exists.Subscriptions are unique by project + queue + subscriber URI."
)


def subscriber_key(subscriber: str) -> str:
    return hashlib.sha256(subscriber.encode()).hexdigest()


_last_micros = 0


def new_subscription_id(now: float) -> str:
    """32 hex digits, microseconds first: ids sort in creation order, as Zaqar lists them.

    Within this process the time part strictly increases, even for creates in the same
    microsecond; across replicas clocks order them and the random tail keeps them unique.
    """
    global _last_micros
    _last_micros = max(int(now * 1_000_000), _last_micros + 1)
    return f"{_last_micros:014x}{secrets.token_hex(9)}"


def _not_found(subscription_id: str) -> NotFound:
    return NotFound(f"Subscription {subscription_id} does not exist")


class SubscriptionOps(MaintenanceOps, UsageOps):
    # ------------------------------------------------------------ reads

    def _subscription(self, row: Any, now: float) -> s.Subscription:
        return s.Subscription(
            id=row.id,
            queue=row.queue,
            subscriber=row.subscriber,
            ttl=row.ttl,
            age=max(0, int(now - row.created)),
            options=json.loads(row.options),
            confirmed=bool(row.confirmed),
            signing_secret=row.signing_secret,
        )

    def _live(self, project: str, queue: str, now: float) -> sa.ColumnElement[bool]:
        return sa.and_(
            subscriptions.c.project == project,
            subscriptions.c.queue == queue,
            subscriptions.c.expires > now,
        )

    async def subscription_list(self, req: s.SubscriptionListRequest) -> s.SubscriptionListReply:
        now = self.clock()
        query = sa.select(subscriptions).where(self._live(req.project, req.queue, now))
        marker = marker_before_nul(req.marker)
        if marker is not None:
            query = query.where(subscriptions.c.id > marker)
        async with self._read("subscription.list") as conn:
            rows = (await conn.execute(query.order_by(subscriptions.c.id).limit(req.limit))).all()
        return s.SubscriptionListReply(subscriptions=[self._subscription(r, now) for r in rows])

    async def subscription_get(self, req: s.SubscriptionRequest) -> s.SubscriptionReply:
        now = self.clock()
        if not is_id(req.subscription_id):
            raise _not_found(req.subscription_id)
        query = sa.select(subscriptions).where(
            self._live(req.project, req.queue, now), subscriptions.c.id == req.subscription_id
        )
        async with self._read("subscription.get") as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise _not_found(req.subscription_id)
        return s.SubscriptionReply(subscription=self._subscription(row, now))

    async def subscription_targets(self, req: s.QueueScoped) -> s.DeliveryTargetsReply:
        """What the notifier needs to deliver a queue's messages, in one round trip."""
        now = self.clock()
        async with self._read("subscription.targets") as conn:
            rows = (
                await conn.execute(
                    sa.select(subscriptions)
                    .where(self._live(req.project, req.queue, now))
                    .order_by(subscriptions.c.id)
                )
            ).all()
            metadata_text = await conn.scalar(
                sa.select(queues.c.metadata).where(
                    queues.c.project == req.project, queues.c.name == req.queue
                )
            )
        policy: JsonValue = (
            json.loads(metadata_text).get("_retry_policy") if metadata_text else None
        )
        return s.DeliveryTargetsReply(
            subscriptions=[self._subscription(r, now) for r in rows],
            queue_retry_policy=policy if isinstance(policy, dict) else None,
        )

    # ------------------------------------------------------------ writes

    async def subscription_create(
        self, req: s.SubscriptionCreateRequest
    ) -> s.SubscriptionCreateReply:
        now = self.clock()
        key = subscriber_key(req.subscriber)
        same = sa.and_(
            subscriptions.c.project == req.project,
            subscriptions.c.queue == req.queue,
            subscriptions.c.subscriber_key == key,
        )
        async with self._write("subscription.create") as conn:
            await self._check_queue_room(SqlAlchemyRunner(conn), req.project, req.queue)
            await self._ensure_queue(conn, req.project, req.queue)  # queues are lazy
            # An expired subscription of the same subscriber is gone already, whatever the
            # sweeper has done so far: make room for the new one.
            await conn.execute(subscriptions.delete().where(same, subscriptions.c.expires <= now))
            subscription_id = new_subscription_id(now)
            secret = secrets.token_hex(32)
            inserted = (
                await conn.execute(
                    self._insert(subscriptions)
                    .values(
                        id=subscription_id,
                        project=req.project,
                        queue=req.queue,
                        subscriber=req.subscriber,
                        subscriber_key=key,
                        ttl=req.ttl,
                        options=json.dumps(req.options),
                        confirmed=False,
                        signing_secret=secret,
                        created=now,
                        expires=now + req.ttl,
                    )
                    .on_conflict_do_nothing(index_elements=["project", "queue", "subscriber_key"])
                    .returning(subscriptions.c.id)
                )
            ).first()
            change: SubscriptionChange = "created"
            if inserted is None:
                existing = (await conn.execute(sa.select(subscriptions).where(same))).one()
                if existing.confirmed:
                    raise Conflict(DUPLICATE)
                # Zaqar answers an unconfirmed duplicate with the existing id, keeps its ttl and
                # options, and asks for confirmation again (spec 2.9.2).
                subscription_id, secret, change = existing.id, existing.signing_secret, "duplicate"
            event = await self._subscription_event(
                conn, req.project, req.queue, subscription_id, change
            )
        self._published(event)
        return s.SubscriptionCreateReply(
            subscription_id=subscription_id, created=change == "created", signing_secret=secret
        )

    async def subscription_update(self, req: s.SubscriptionUpdateRequest) -> s.Empty:
        now = self.clock()
        if not is_id(req.subscription_id):
            raise _not_found(req.subscription_id)
        values: dict[str, Any] = {}
        if req.subscriber is not None:
            values["subscriber"] = req.subscriber
            values["subscriber_key"] = subscriber_key(req.subscriber)
        if req.options is not None:
            values["options"] = json.dumps(req.options)
        if req.ttl is not None:  # a new ttl restarts the countdown from now
            values["ttl"] = req.ttl
            values["expires"] = now + req.ttl
        this = sa.and_(
            self._live(req.project, req.queue, now), subscriptions.c.id == req.subscription_id
        )
        try:
            async with self._write("subscription.update") as conn:
                found = await conn.scalar(sa.select(subscriptions.c.id).where(this))
                if found is None:
                    raise _not_found(req.subscription_id)
                if "subscriber_key" in values:
                    await self._claim_subscriber(conn, req, values["subscriber_key"], now)
                if values:
                    await conn.execute(subscriptions.update().where(this).values(**values))
                event = await self._subscription_event(
                    conn, req.project, req.queue, req.subscription_id, "updated"
                )
        except IntegrityError:  # a concurrent create took the subscriber first
            raise Conflict(DUPLICATE) from None
        self._published(event)
        return s.Empty()

    async def _claim_subscriber(
        self, conn: AsyncConnection, req: s.SubscriptionUpdateRequest, key: str, now: float
    ) -> None:
        """Refuse a subscriber another live subscription of the queue has; drop expired ones."""
        others = sa.and_(
            subscriptions.c.project == req.project,
            subscriptions.c.queue == req.queue,
            subscriptions.c.subscriber_key == key,
            subscriptions.c.id != req.subscription_id,
        )
        await conn.execute(subscriptions.delete().where(others, subscriptions.c.expires <= now))
        if await conn.scalar(sa.select(subscriptions.c.id).where(others)) is not None:
            raise Conflict(DUPLICATE)

    async def subscription_delete(self, req: s.SubscriptionRequest) -> s.Empty:
        if not is_id(req.subscription_id):
            return s.Empty()  # deleting what cannot exist succeeds (spec 2.9.5)
        async with self._write("subscription.delete") as conn:
            gone = (
                await conn.execute(
                    subscriptions.delete()
                    .where(
                        subscriptions.c.project == req.project,
                        subscriptions.c.queue == req.queue,
                        subscriptions.c.id == req.subscription_id,
                    )
                    .returning(subscriptions.c.id)
                )
            ).first()
            event = None
            if gone is not None:
                event = await self._subscription_event(
                    conn, req.project, req.queue, req.subscription_id, "deleted"
                )
        if event is not None:
            self._published(event)
        return s.Empty()

    async def subscription_confirm(self, req: s.SubscriptionConfirmRequest) -> s.SubscriptionReply:
        """Zaqar looks the subscription up by id and project only (spec 2.9.6)."""
        now = self.clock()
        if not is_id(req.subscription_id):
            raise _not_found(req.subscription_id)
        this = sa.and_(
            subscriptions.c.project == req.project,
            subscriptions.c.id == req.subscription_id,
            subscriptions.c.expires > now,
        )
        async with self._write("subscription.confirm") as conn:
            await conn.execute(subscriptions.update().where(this).values(confirmed=req.confirmed))
            row = (await conn.execute(sa.select(subscriptions).where(this))).first()
            if row is None:
                raise _not_found(req.subscription_id)
            change: SubscriptionChange = "confirmed" if req.confirmed else "unsubscribed"
            event = await self._subscription_event(conn, row.project, row.queue, row.id, change)
        self._published(event)
        return s.SubscriptionReply(subscription=self._subscription(row, now))

    async def _purge_subscriptions(self, conn: AsyncConnection, project: str, queue: str) -> None:
        """Queue purge with ``subscriptions`` in its resource types (spec 2.5.7)."""
        await conn.execute(
            subscriptions.delete().where(
                subscriptions.c.project == project, subscriptions.c.queue == queue
            )
        )

    # ------------------------------------------------------------ events

    async def _subscription_event(
        self,
        conn: AsyncConnection,
        project: str,
        queue: str,
        subscription_id: str,
        change: SubscriptionChange,
    ) -> OutboxEvent:
        now = self.clock()
        request_id = request_id_var.get()
        trace_context = tracing.current()
        payload = SubscriptionChangedEvent(
            event_id=new_id(),
            project=project,
            queue=queue,
            subscription_id=subscription_id,
            change=change,
            created=now,
            request_id=None if request_id == "-" else request_id,
            traceparent=trace_context.traceparent if trace_context is not None else None,
            tracestate=trace_context.tracestate if trace_context is not None else None,
        )
        event = OutboxEvent(
            payload.event_id,
            event_subject(project, queue, SUBSCRIPTION_CHANGED),
            payload.model_dump_json(),
        )
        await conn.execute(
            outbox.insert().values(
                event_id=event.event_id, subject=event.subject, payload=event.payload, created=now
            )
        )
        return event

    def _published(self, event: OutboxEvent) -> None:
        """After the commit: hand the event to the relay, as message posts do."""
        notify = getattr(self, "on_outbox_written", None)
        if notify is not None:
            notify([event])

    # ------------------------------------------------------------ failed deliveries

    async def delivery_record_failure(self, req: s.FailedDeliveryRecordRequest) -> s.Empty:
        now = self.clock()
        record = req.delivery
        async with self._write("delivery.record_failure") as conn:
            await conn.execute(
                self._insert(failed_deliveries)
                .values(
                    delivery_id=record.delivery_id,
                    project=req.project,
                    queue=req.queue,
                    subscription_id=record.subscription_id,
                    subscriber=record.subscriber,
                    message_id=record.message_id,
                    attempts=record.attempts,
                    last_error=record.last_error[:2000],
                    failed=now,
                    expires=now + req.retention,
                )
                .on_conflict_do_nothing(index_elements=["delivery_id"])
            )
        return s.Empty()

    async def delivery_list_failures(
        self, req: s.FailedDeliveryListRequest
    ) -> s.FailedDeliveryListReply:
        now = self.clock()
        query = sa.select(failed_deliveries).where(
            failed_deliveries.c.project == req.project,
            failed_deliveries.c.queue == req.queue,
            failed_deliveries.c.expires > now,
        )
        if req.subscription_id is not None:
            if "\0" in req.subscription_id:  # no id holds a NUL, which PostgreSQL cannot take
                return s.FailedDeliveryListReply(deliveries=[])
            query = query.where(failed_deliveries.c.subscription_id == req.subscription_id)
        if req.marker is not None:
            try:
                query = query.where(failed_deliveries.c.id > int(req.marker))
            except ValueError:
                return s.FailedDeliveryListReply(deliveries=[])
        async with self._read("delivery.list_failures") as conn:
            rows = (
                await conn.execute(query.order_by(failed_deliveries.c.id).limit(req.limit))
            ).all()
        deliveries = [
            s.FailedDelivery(
                delivery_id=r.delivery_id,
                subscription_id=r.subscription_id,
                subscriber=r.subscriber,
                message_id=r.message_id,
                attempts=r.attempts,
                last_error=r.last_error,
                failed=r.failed,
            )
            for r in rows
        ]
        return s.FailedDeliveryListReply(
            deliveries=deliveries, marker=str(rows[-1].id) if rows else None
        )

    # ------------------------------------------------------------ maintenance

    async def sweep_expired(self, batch_size: int) -> int:
        """Messages and claims as before, then expired subscriptions and delivery records."""
        removed = await super().sweep_expired(batch_size)
        now = self.clock()
        for table in (subscriptions, failed_deliveries):
            doomed = sa.select(table.c.id).where(table.c.expires <= now).limit(batch_size)
            async with self._write(f"sweep.{table.name}") as conn:
                result = await conn.execute(table.delete().where(table.c.id.in_(doomed)))
            removed += result.rowcount or 0
        return removed
