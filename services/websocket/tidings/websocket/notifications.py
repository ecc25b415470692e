"""Notification frames (spec 5.6) of pushed messages, built and encoded once per replica.

Every socket subscribed to a queue gets the same frame for a posted message, so the frame is
built once per message and encoded at most once per encoding, then shared by all of them: with
a thousand sockets on a queue, encoding per socket was most of the fan-out's CPU.

Pushed frames carry two additive keys: ``message_id`` and, when storage put the message's
sequence in the event, ``marker`` (the message-list marker of that message), which a client
that reconnects sends back as ``resume_marker`` (see :mod:`.resume`).
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue
from websockets.frames import Frame, Opcode

from tidings.common.events import MessagesPostedEvent, PostedMessage
from tidings.websocket.protocol import Encoding, encode

NOTIFICATION = "Notification"


def notification(
    queue: str,
    message_id: str,
    body: JsonValue,
    ttl: int,
    marker: str | None,
    delay: int = 0,
) -> dict[str, Any]:
    """Zaqar's notification payload (spec 4.1) plus ``message_id`` and ``marker``."""
    frame: dict[str, Any] = {
        "body": body,
        "ttl": ttl,
        "queue_name": queue,
        "Message_Type": NOTIFICATION,
        "message_id": message_id,
    }
    if delay:
        frame["delay"] = delay
    if marker is not None:
        frame["marker"] = marker
    return frame


class Notification:
    """One posted message as every subscribed socket of this replica receives it."""

    __slots__ = ("_encoded", "_wire", "created", "message", "queue")

    def __init__(self, queue: str, message: PostedMessage, created: float) -> None:
        self.queue = queue
        self.message = message
        self.created = created  # commit time (storage clock), for the push latency metric
        self._encoded: dict[Encoding, str | bytes] = {}
        self._wire: dict[Encoding, bytes] = {}

    def encoded(self, encoding: Encoding) -> str | bytes:
        data = self._encoded.get(encoding)
        if data is None:
            message = self.message
            marker = str(message.seq) if message.seq is not None else None
            frame = notification(
                self.queue, message.id, message.body, message.ttl, marker, message.delay
            )
            data = self._encoded[encoding] = encode(frame, encoding)
        return data

    def wire(self, encoding: Encoding) -> bytes:
        """The whole uncompressed WebSocket frame, as a server sends it (unmasked)."""
        frame = self._wire.get(encoding)
        if frame is None:
            data = self.encoded(encoding)
            if isinstance(data, str):
                message = Frame(Opcode.TEXT, data.encode())
            else:
                message = Frame(Opcode.BINARY, data)
            frame = self._wire[encoding] = message.serialize(mask=False, extensions=[])
        return frame


def notifications_of(event: MessagesPostedEvent) -> list[Notification]:
    return [Notification(event.queue, message, event.created) for message in event.messages]


class Batch:
    """Notifications pushed together; every socket of the replica gets the same bytes."""

    __slots__ = ("_wire", "items")

    def __init__(self, items: list[Notification]) -> None:
        self.items = items
        self._wire: dict[Encoding, bytes] = {}

    def wire(self, encoding: Encoding) -> bytes:
        """The frames of all items, back to back, as one write to a socket."""
        data = self._wire.get(encoding)
        if data is None:
            data = self._wire[encoding] = b"".join(item.wire(encoding) for item in self.items)
        return data
