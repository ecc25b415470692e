"""Pushed frames written straight to the socket's transport when the ASGI server allows it.

Why: a replica with 1,000 sockets on a queue posted to 100 times a second sends 100,000 frames
a second. Through ASGI each frame costs a writer-task wake-up, starlette's and uvicorn's send
coroutines and a websockets ``Frame`` built and serialized for that one socket: about 6 us of
Python per frame, more than one core at that rate. A notification's frame is the same bytes
for every socket (server frames are unmasked), so, without compression, it is serialized once
(:meth:`Notification.wire`) and only ``transport.write`` remains per socket.

ASGI has no access to the transport, so this is a fast path for one server: uvicorn's
``websockets-sansio`` protocol (its default with websockets >= 14), recognised as the owner of
the raw ASGI ``send`` that :class:`RawSendCapture` keeps in the scope. It is taken only while
the socket is open, writable (uvicorn pauses a transport whose buffer is full) and has no
close sent, and the session uses it only while its own buffer is empty and its writer idle,
so frames keep their order and a slow client still ends in the bounded buffer and 4008. With
permessage-deflate negotiated, each socket's frame goes through its own websockets protocol
(the compressor keeps state per socket). Under any other server this module finds nothing and
every frame takes the ASGI path; ``tests/websocket/test_wire.py`` fails if an upgrade of
uvicorn or websockets silently disables the fast path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.protocol import State

from tidings.websocket.notifications import Notification
from tidings.websocket.protocol import Encoding

RAW_SEND_KEY = "tidings.raw_send"

try:  # uvicorn[standard] with websockets >= 14
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - another ASGI server or websockets release
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class RawSendCapture:
    """ASGI middleware: keep a websocket's raw ``send`` (before starlette wraps it) in its scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send
        await self.app(scope, receive, send)


class DirectWire:
    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def ready(self) -> bool:
        protocol = self._protocol
        return (
            protocol.writable.is_set()
            and not protocol.close_sent
            and protocol.conn.state is State.OPEN
            and not protocol.transport.is_closing()
        )

    def write(self, notifications: Sequence[Notification], encoding: Encoding) -> None:
        """The frames of ``notifications``, in order, in one write (one system call)."""
        protocol = self._protocol
        conn = protocol.conn
        if not conn.extensions:
            if len(notifications) == 1:
                protocol.transport.write(notifications[0].wire(encoding))
            else:
                protocol.transport.write(b"".join(n.wire(encoding) for n in notifications))
            return
        for pushed in notifications:
            data = pushed.encoded(encoding)
            if isinstance(data, str):
                conn.send_text(data.encode())
            else:
                conn.send_binary(data)
        protocol.transport.write(b"".join(conn.data_to_send()))


def direct_wire(scope: Scope) -> DirectWire | None:
    """The fast path for this socket, or None when its server is not one we know."""
    owner = getattr(scope.get(RAW_SEND_KEY), "__self__", None)
    if WebSocketsSansIOProtocol is None or not isinstance(owner, WebSocketsSansIOProtocol):
        return None
    return DirectWire(owner)
