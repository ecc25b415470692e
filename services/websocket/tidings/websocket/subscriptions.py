"""Socket subscriptions: ``subscription_create`` without a subscriber (spec 5.6).

A socket subscription lives only as long as its socket (and its ttl), so it is kept here, in
the replica that holds the socket, not in storage. Each one is a fan-out listener of its
queue: every message posted to the queue afterwards, through REST or WebSocket, is sent to the
socket as Zaqar's notification frame (see :mod:`.notifications`) in the encoding of the
``subscription_create`` request. A client that reconnects sends the last ``marker`` it saw as
``resume_marker`` (see :mod:`.resume`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue

from tidings.common.errors import Conflict
from tidings.common.events import PostedMessage
from tidings.websocket.fanout import Fanout
from tidings.websocket.notifications import Batch, Notification
from tidings.websocket.protocol import Encoding
from tidings.websocket.session import SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_REASON, Session


@dataclass(eq=False)
class SocketSubscription:
    id: str
    project: str
    queue: str
    session: Session
    encoding: Encoding
    ttl: int
    options: dict[str, JsonValue]
    created: float = field(default_factory=time.time)
    # While a resume replays the backlog, live messages wait here (see resume.py).
    _buffer: list[Notification] | None = None
    _buffer_limit: int = 0
    # After a resume: the last marker the backlog reached, and the ids it sent; a live message
    # at or below that marker (or with one of those ids) was replayed already.
    _backlog_end: int | None = None
    _replayed: set[str] = field(default_factory=set)

    @property
    def expires(self) -> float:
        return self.created + self.ttl

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.queue,
            "subscriber": f"websocket://{self.session.id}",
            "ttl": self.ttl,
            "age": int(time.time() - self.created),
            "options": self.options,
            "confirmed": True,
        }

    # ------------------------------------------------------------ live delivery

    def deliver(self, batch: Batch, now: float) -> None:
        if now >= self.created + self.ttl:  # expired(), inlined: this runs once per socket
            return
        if self._buffer is not None:  # a resume is replaying the backlog
            if len(self._buffer) + len(batch.items) > self._buffer_limit:
                self.session.abort(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_REASON)
            else:
                self._buffer.extend(batch.items)
        elif self._replayed or self._backlog_end is not None:  # after a resume
            self._push(batch.items)
        else:
            self.session.push(batch, self.encoding)

    def _push(self, notifications: list[Notification]) -> None:
        fresh = [n for n in notifications if not self._already_replayed(n.message)]
        if fresh:
            self.session.push(Batch(fresh), self.encoding)

    def _already_replayed(self, message: PostedMessage) -> bool:
        if message.id in self._replayed:
            return True
        # Storage commits a queue's posts in sequence order and the backlog was read after the
        # live subscription started, so every message at or below the backlog's end that the
        # backlog did not show was already gone (deleted or expired).
        return (
            self._backlog_end is not None
            and message.seq is not None
            and message.seq <= self._backlog_end
        )

    # ------------------------------------------------------------ resume support

    def start_buffering(self, limit: int) -> None:
        self._buffer, self._buffer_limit = [], limit

    def replayed(self, frame: dict[str, Any], marker: str | None) -> None:
        self._replayed.add(str(frame["message_id"]))
        if marker is not None and marker.isdigit():
            self._backlog_end = max(self._backlog_end or 0, int(marker))
        self.session.send(frame, self.encoding)

    def go_live(self, resumed_from: str | None) -> None:
        """Flush what arrived during the replay, minus what the replay sent, then stay live."""
        if self._backlog_end is None and resumed_from is not None and resumed_from.isdigit():
            self._backlog_end = int(resumed_from)  # nothing replayed: the client has it all
        buffered, self._buffer = self._buffer or [], None
        self._push(buffered)


class SocketSubscriptions:
    """The socket subscriptions of one socket."""

    def __init__(self, session: Session, fanout: Fanout) -> None:
        self._session = session
        self._fanout = fanout
        self._by_id: dict[str, SocketSubscription] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _live(self, project: str, queue: str) -> list[SocketSubscription]:
        return [
            sub
            for sub in self._by_id.values()
            if sub.project == project and sub.queue == queue and not sub.expired()
        ]

    async def create(
        self,
        project: str,
        queue: str,
        encoding: Encoding,
        ttl: int,
        options: dict[str, JsonValue],
        buffer_limit: int | None = None,
    ) -> SocketSubscription:
        """Subscribe this socket to the queue; ``buffer_limit`` starts it buffering (resume)."""
        if self._live(project, queue):
            # Zaqar: subscriptions are unique by project + queue + subscriber (this socket).
            raise Conflict(f"Subscription {queue} not created.")
        sub = SocketSubscription(
            uuid.uuid4().hex, project, queue, self._session, encoding, ttl, options
        )
        if buffer_limit is not None:
            sub.start_buffering(buffer_limit)
        self._by_id[sub.id] = sub  # before the await: a second create must see it
        try:
            await self._fanout.add(project, queue, sub)
        except BaseException:
            del self._by_id[sub.id]
            raise
        loop = asyncio.get_running_loop()
        self._timers[sub.id] = loop.call_later(ttl, self._expire, sub.id)
        return sub

    def _expire(self, sid: str) -> None:
        sub = self._by_id.get(sid)
        if sub is not None:
            task = asyncio.create_task(self.delete(sub.project, sub.queue, sid))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def get(self, project: str, queue: str, sid: str) -> SocketSubscription | None:
        sub = self._by_id.get(sid)
        if sub is None or sub.project != project or sub.queue != queue or sub.expired():
            return None
        return sub

    def list(self, project: str, queue: str) -> list[SocketSubscription]:
        return sorted(self._live(project, queue), key=lambda sub: sub.created)

    async def delete(self, project: str, queue: str, sid: str) -> None:
        sub = self._by_id.get(sid)
        if sub is None or sub.project != project or sub.queue != queue:
            return
        del self._by_id[sid]
        timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()
        await self._fanout.remove(project, queue, sub)

    async def close_all(self) -> None:
        for sub in list(self._by_id.values()):
            await self.delete(sub.project, sub.queue, sub.id)
