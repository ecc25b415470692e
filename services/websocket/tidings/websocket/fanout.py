"""Live pushes: one core-NATS subscription per queue per replica, fanned out to local sockets.

Storage publishes a ``MessagesPostedEvent`` to JetStream after every committed post; a plain
core-NATS subscription on the same subject receives it too. A replica subscribes only to the
queues its own sockets listen to (interest follows connections) and drops the subscription
when the last of them leaves. Delivery to a listener never waits: each socket has its own
bounded buffer, so one slow socket cannot hold up the others. Each message's notification
frame is built and encoded once per event here and shared by every listener.

Events are handed to listeners in batches, so a socket gets a batch in one write (one system
call, which is most of the cost of a frame): those that arrive together (NATS delivers what
one read of its socket brought in one go) leave at the end of that loop iteration, and with
``push_batch_window`` > 0 a queue is pushed to at most once per window, so a busy queue's
events are gathered for up to that long while a quiet queue's event leaves at once. When the
replica falls behind, more events arrive per read and the cost per frame drops until it has
caught up.

The outbox relay may publish an event twice (a retry after a lost ack); JetStream drops the
copy from the stream but core subscribers see both, so recent event ids are remembered per
queue and repeats are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from tidings.common.errors import ServiceUnavailable
from tidings.common.events import MESSAGES_POSTED, MessagesPostedEvent
from tidings.common.logging import request_id_var
from tidings.common.nats_connection import NatsConnection
from tidings.common.subjects import event_subject
from tidings.websocket import metrics
from tidings.websocket.notifications import Batch, Notification, notifications_of

log = logging.getLogger(__name__)

RECENT_EVENTS = 1024  # event ids remembered per queue for de-duplication
SUBSCRIBE_TIMEOUT = 5  # seconds


class Listener(Protocol):
    def deliver(self, batch: Batch, now: float) -> None:
        """Take the event's notifications without waiting; ``now`` is the dispatch time."""


QueueKey = tuple[str, str]  # (project, queue)


@dataclass(eq=False)
class _Interest:
    subscription: Subscription | None = None
    listeners: set[Listener] = field(default_factory=set)
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    pending: list[Notification] = field(default_factory=list)  # the batch being gathered
    last_flush: float = float("-inf")  # loop time of the last push to the listeners

    def seen(self, event_id: str) -> bool:
        if event_id in self.recent:
            return True
        self.recent[event_id] = None
        if len(self.recent) > RECENT_EVENTS:
            self.recent.popitem(last=False)
        return False


class Fanout:
    def __init__(self, connection: NatsConnection, batch_window: float = 0.0) -> None:
        self._connection = connection
        self._batch_window = batch_window
        self._interests: dict[QueueKey, _Interest] = {}
        self._lock = asyncio.Lock()

    @property
    def queues(self) -> int:
        return len(self._interests)

    async def add(self, project: str, queue: str, listener: Listener) -> None:
        """Start delivering the queue's posted messages to ``listener``.

        Returns once the NATS server knows of the interest, so every message committed after
        this returns reaches the listener.
        """
        key = (project, queue)
        async with self._lock:
            interest = self._interests.get(key)
            if interest is None:
                interest = _Interest()
                interest.subscription = await self._subscribe(key, interest)
                self._interests[key] = interest
                metrics.QUEUE_SUBSCRIPTIONS.set(len(self._interests))
            interest.listeners.add(listener)

    async def _subscribe(self, key: QueueKey, interest: _Interest) -> Subscription:
        client = self._connection.client
        if client is None:
            raise ServiceUnavailable("The message broker is unavailable.")

        async def on_event(msg: Msg) -> None:
            self._dispatch(interest, msg)

        subject = event_subject(key[0], key[1], MESSAGES_POSTED)
        try:
            subscription = await client.subscribe(subject, cb=on_event)
            await client.flush(timeout=SUBSCRIBE_TIMEOUT)
        except Exception as exc:  # nats-py raises timeouts and connection errors of its own
            log.warning("subscribing to %s failed: %s", subject, exc)
            raise ServiceUnavailable("The message broker is unavailable.") from None
        return subscription

    def _dispatch(self, interest: _Interest, msg: Msg) -> None:
        try:
            event = MessagesPostedEvent.model_validate_json(msg.data)
        except ValidationError:
            log.warning("malformed event on %s", msg.subject)
            return
        if interest.seen(event.event_id):
            return
        if log.isEnabledFor(logging.DEBUG):  # pushes are batched: the event's own line has the id
            token = request_id_var.set(event.request_id or "-")
            log.debug(
                "event %s: %d messages to push to %d sockets",
                event.event_id,
                len(event.messages),
                len(interest.listeners),
            )
            request_id_var.reset(token)
        if not interest.pending:
            # At most one push per window and queue: an event right after a quiet spell goes
            # at once, the ones that follow a push wait for the window's end, together.
            loop = asyncio.get_running_loop()
            delay = interest.last_flush + self._batch_window - loop.time()
            if delay > 0:
                loop.call_later(delay, self._flush, interest)
            else:
                loop.call_soon(self._flush, interest)
        interest.pending.extend(notifications_of(event))

    def _flush(self, interest: _Interest) -> None:
        batch, interest.pending = Batch(interest.pending), []
        interest.last_flush = asyncio.get_running_loop().time()
        now = time.time()
        for listener in list(interest.listeners):
            try:
                listener.deliver(batch, now)
            except Exception:  # one listener's fault must not cost the others their pushes
                log.exception("delivering to a socket failed")

    async def remove(self, project: str, queue: str, listener: Listener) -> None:
        key = (project, queue)
        async with self._lock:
            interest = self._interests.get(key)
            if interest is None:
                return
            interest.listeners.discard(listener)
            if interest.listeners:
                return
            del self._interests[key]
            metrics.QUEUE_SUBSCRIPTIONS.set(len(self._interests))
            if interest.subscription is not None:
                try:
                    await interest.subscription.unsubscribe()
                except Exception as exc:  # the connection is gone: so is the interest
                    log.debug("unsubscribe failed: %s", exc)
