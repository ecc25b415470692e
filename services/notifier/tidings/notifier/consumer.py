"""The durable JetStream consumer every notifier replica shares.

Replicas pull from one durable consumer of the events stream, so each event goes to one
replica at a time. An event is acked only when all its deliveries have finished or been given
up; until then the replica tells JetStream it is still working on it (``in_progress``) so a
long retry schedule does not make it time out. A replica that dies leaves its events
unacked, and JetStream hands them to another replica after ``ack_wait``: deliveries are at
least once, and a repeated one carries the same delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry.trace import SpanKind

from tidings.common import schemas as s
from tidings.common import tracing
from tidings.common.errors import NotFound, TidingsError
from tidings.common.events import (
    MESSAGES_POSTED,
    SUBSCRIPTION_CHANGED,
    MessagesPostedEvent,
    SubscriptionChangedEvent,
)
from tidings.common.logging import request_id_var
from tidings.common.nats_connection import NatsConnection
from tidings.common.rpc import StorageClient
from tidings.common.subjects import EVENTS_PREFIX, EVENTS_STREAM, decode_token
from tidings.notifier import metrics
from tidings.notifier.confirmation import (
    SUBSCRIBE,
    UNSUBSCRIBE,
    confirmation_email,
    confirmation_payload,
)
from tidings.notifier.dispatcher import Dispatcher
from tidings.notifier.jobs import (
    EventWork,
    Job,
    MailTarget,
    build_job,
    mail_target,
    subscriber_type,
)
from tidings.notifier.payload import delivery_id, notification, render_body, webhook_headers
from tidings.notifier.retry import retry_delays, select_policy
from tidings.notifier.settings import NotifierSettings
from tidings.notifier.targets import TargetCache

log = logging.getLogger(__name__)

RETRY_LATER = 1.0  # seconds before JetStream redelivers an event storage could not serve


@dataclass(eq=False)
class _Held:
    msg: Msg
    since: float = field(default_factory=time.monotonic)


class EventConsumer:
    def __init__(
        self,
        settings: NotifierSettings,
        connection: NatsConnection,
        storage: StorageClient,
        targets: TargetCache,
        dispatcher: Dispatcher,
    ) -> None:
        self._settings = settings
        self._connection = connection
        self._storage = storage
        self._targets = targets
        self._dispatcher = dispatcher
        self._slots = asyncio.Semaphore(settings.max_inflight_events)
        self._held: set[_Held] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self.bound = asyncio.Event()  # the durable consumer exists and is being pulled
        self._pull: JetStreamContext.PullSubscription | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._pull_forever(), name="notifier-pull"),
            asyncio.create_task(self._keep_alive(), name="notifier-progress"),
        ]

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pull is not None:
            # Our inbox goes now, so that draining the connection does not wait for it.
            with contextlib.suppress(Exception):
                await self._pull.unsubscribe()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------ pulling

    def _consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self._settings.consumer_name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._settings.ack_wait,
            max_deliver=-1,
            # The first replica ever started begins at the stream's end; the durable then
            # remembers its place across restarts of every replica.
            deliver_policy=DeliverPolicy.NEW,
            max_ack_pending=-1,
            filter_subject=f"{EVENTS_PREFIX}.>",
        )

    async def _subscribe(self) -> tuple[JetStreamContext, JetStreamContext.PullSubscription]:
        while True:
            client = self._connection.client
            if client is None:
                await asyncio.sleep(0.2)
                continue
            js = client.jetstream()
            try:
                await js.stream_info(EVENTS_STREAM)  # storage creates the stream
                # Create the durable, or update its mutable settings (ack_wait) to ours;
                # replicas with the same settings make this a no-op.
                await js.add_consumer(EVENTS_STREAM, config=self._consumer_config())
                pull = await js.pull_subscribe(
                    f"{EVENTS_PREFIX}.>",
                    durable=self._settings.consumer_name,
                    stream=EVENTS_STREAM,
                    config=self._consumer_config(),
                )
            except NotFoundError:
                log.info("waiting for storage to create stream %s", EVENTS_STREAM)
                await asyncio.sleep(0.5)
                continue
            except Exception as exc:  # broker restarting: try again
                log.warning("cannot bind the durable consumer (%s); retrying", exc)
                await asyncio.sleep(0.5)
                continue
            return js, pull

    async def _pull_forever(self) -> None:
        _, pull = await self._subscribe()
        self._pull = pull
        self.bound.set()
        last_lag = 0.0
        while True:
            await self._slots.acquire()  # wait for room before asking for more
            free = 1
            while free < self._settings.fetch_batch and not self._slots.locked():
                await self._slots.acquire()
                free += 1
            try:
                msgs = await pull.fetch(free, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                msgs = []
            except Exception as exc:
                log.warning("pulling events failed (%s)", exc)
                msgs = []
                await asyncio.sleep(0.5)
            for _ in range(free - len(msgs)):
                self._slots.release()
            for msg in msgs:
                self._spawn(msg)
            if time.monotonic() - last_lag > 2.0:
                last_lag = time.monotonic()
                await self._report_lag(pull)

    async def _report_lag(self, pull: JetStreamContext.PullSubscription) -> None:
        try:
            info = await pull.consumer_info()
        except Exception:  # lag is informative only
            return
        metrics.CONSUMER_LAG.set(info.num_pending or 0)

    def _spawn(self, msg: Msg) -> None:
        held = _Held(msg)
        self._held.add(held)
        metrics.EVENTS_INFLIGHT.set(len(self._held))
        task = asyncio.create_task(self._handle(held))
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._held.discard(held)
            metrics.EVENTS_INFLIGHT.set(len(self._held))
            self._slots.release()

        task.add_done_callback(done)

    async def _keep_alive(self) -> None:
        """Tell JetStream about events still being worked on, before their ack_wait ends."""
        period = max(0.2, self._settings.ack_wait / 3)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for held in list(self._held):
                if now - held.since >= period:
                    with contextlib.suppress(Exception):
                        await held.msg.in_progress()

    # ------------------------------------------------------------ events

    async def _handle(self, held: _Held) -> None:
        msg = held.msg
        kind = msg.subject.rsplit(".", 1)[-1]
        try:
            if kind == MESSAGES_POSTED:
                if not await self._has_subscriptions(msg.subject):
                    await msg.ack()  # nobody listens: the event (bodies and all) stays unparsed
                    return
                work = await self._deliver_posted(MessagesPostedEvent.model_validate_json(msg.data))
            elif kind == SUBSCRIPTION_CHANGED:
                work = await self._subscription_changed(
                    SubscriptionChangedEvent.model_validate_json(msg.data)
                )
            else:
                work = None
            if work is not None:
                await work.done.wait()
                if work.failed_to_record:
                    await msg.nak(delay=RETRY_LATER)
                    return
            await msg.ack()
        except TidingsError as exc:  # storage could not answer: the event comes back later
            log.warning("event on %s postponed: %s", msg.subject, exc)
            with contextlib.suppress(Exception):
                await msg.nak(delay=RETRY_LATER)
        except ValueError:
            log.warning("malformed event on %s dropped", msg.subject)
            with contextlib.suppress(Exception):
                await msg.ack()
        except Exception:  # a bug here must not lose the event: it comes back later
            log.exception("handling the event on %s failed", msg.subject)
            with contextlib.suppress(Exception):
                await msg.nak(delay=RETRY_LATER * 5)

    async def _has_subscriptions(self, subject: str) -> bool:
        """Whether the queue named by an event's subject has any subscription (cached).

        Most queues have none: their events are acknowledged from the subject alone, without
        decoding the messages they carry."""
        tokens = subject[len(EVENTS_PREFIX) + 1 :].split(".")
        if len(tokens) != 3:  # not ours: let the full path judge (and drop) it
            return True
        project, queue = decode_token(tokens[0]), decode_token(tokens[1])
        return bool((await self._targets.get(project, queue)).subscriptions)

    async def _deliver_posted(self, event: MessagesPostedEvent) -> EventWork | None:
        # The post's request id follows its deliveries: this task's logs and storage calls,
        # and the delivery tasks and retry timers started from here, which copy the context.
        # Its trace continues in a span for this event, the parent of every delivery's spans.
        request_id_var.set(event.request_id or "-")
        parent = tracing.TraceHeaders.parse(event.traceparent, event.tracestate)
        with tracing.span(f"notify {event.queue}", parent, kind=SpanKind.CONSUMER) as span:
            work = await self._plan_deliveries(event, tracing.current())
            deliveries = work.pending if work is not None else 0
            if span is not None:
                span.set_attribute("messaging.message.id", event.event_id)
                span.set_attribute("tidings.deliveries", deliveries)
            log.debug(
                "event %s: %d messages posted to %s/%s, %d deliveries",
                event.event_id,
                len(event.messages),
                event.project,
                event.queue,
                deliveries,
            )
        return work

    async def _plan_deliveries(
        self, event: MessagesPostedEvent, trace: tracing.TraceHeaders | None
    ) -> EventWork | None:
        """A job per message and confirmed subscription, submitted; None when there is none."""
        targets = await self._targets.get(event.project, event.queue)
        settings = self._settings
        subscriptions: list[s.Subscription] = []
        for sub in targets.subscriptions:
            if settings.confirmation_enabled and not sub.confirmed:
                metrics.DELIVERIES.labels(
                    subscriber_type(sub.subscriber) or "other", "skipped_unconfirmed"
                ).inc()
                continue
            subscriptions.append(sub)
        if not subscriptions or not event.messages:
            return None
        work = EventWork(0)
        jobs: list[Job] = []
        for sub in subscriptions:
            policy = select_policy(targets.queue_retry_policy, _policy_of(sub))
            delays = retry_delays(policy, settings.retry_delay_scale)
            for message in event.messages:
                job = build_job(
                    work,
                    event.project,
                    event.queue,
                    sub,
                    message.id,
                    notification(event.queue, message),
                    delays,
                    event.created,
                    settings.smtp_sender,
                    trace,
                )
                if job is not None:
                    jobs.append(job)
        if not jobs:
            return None
        work.pending = len(jobs)
        for job in jobs:
            self._dispatcher.submit(job)
        return work

    async def _subscription_changed(self, event: SubscriptionChangedEvent) -> EventWork | None:
        request_id_var.set(event.request_id or "-")
        self._targets.invalidate(event.project, event.queue)
        if not self._settings.confirmation_enabled:
            return None
        if event.change in ("created", "duplicate"):
            kind = SUBSCRIBE
        elif event.change == "unsubscribed":
            kind = UNSUBSCRIBE
        else:
            return None
        try:
            reply = await self._storage.call(
                "subscription.get",
                s.SubscriptionRequest(
                    project=event.project, queue=event.queue, subscription_id=event.subscription_id
                ),
                s.SubscriptionReply,
            )
        except NotFound:
            return None  # deleted or expired since
        sub = reply.subscription
        if kind == SUBSCRIBE and sub.confirmed:
            return None
        job = self._confirmation_job(event, sub, kind)
        if job is None:
            return None
        log.debug("event %s: %s confirmation to %s", event.event_id, kind, sub.subscriber)
        metrics.CONFIRMATIONS.labels(kind, "sent").inc()
        self._dispatcher.submit(job)
        return job.work

    def _confirmation_job(
        self, event: SubscriptionChangedEvent, sub: s.Subscription, kind: str
    ) -> Job | None:
        settings = self._settings
        kind_of = subscriber_type(sub.subscriber)
        if kind_of is None:
            return None
        payload = confirmation_payload(settings, event.project, sub, kind)
        work = EventWork(1)
        delivery = delivery_id(sub.id, event.event_id)
        delays = retry_delays(select_policy(None, _policy_of(sub)), settings.retry_delay_scale)
        if kind_of == "webhook":
            body = render_body(payload, {})
            headers = webhook_headers(
                sub.options, body, sub.signing_secret, delivery, event.event_id
            )
            mail = None
        else:
            email = confirmation_email(settings, payload, event.project)
            if email is None:
                return None
            subject, text = email
            target = mail_target(sub.subscriber, dict(sub.options), settings.smtp_sender)
            mail = MailTarget(to=target.to, subject=subject, sender=target.sender)
            body, headers = text.encode(), {}
        return Job(
            work=work,
            project=event.project,
            queue=event.queue,
            subscription=sub,
            kind=kind_of,
            delivery_id=delivery,
            message_id=event.event_id,
            body=body,
            headers=headers,
            delays=delays,
            committed=event.created,
            mail=mail,
            trace=tracing.TraceHeaders.parse(event.traceparent, event.tracestate),
        )


def _policy_of(sub: s.Subscription) -> dict[str, Any] | None:
    policy = sub.options.get("_retry_policy")
    return dict(policy) if isinstance(policy, dict) else None
