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

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from tidings.websocket.notifications import Batch
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

    def try_write(self, batch: Batch, encoding: Encoding) -> bool:
        """Write the batch's frames in one go if the socket is open and writable, else False.

        uvicorn sets ``close_sent`` whenever it closes (ours, a keepalive timeout, a protocol
        error) and closes the transport when the client closes, so those two cover the states
        where a frame must not be written.
        """
        protocol = self._protocol
        transport = protocol.transport
        if not protocol.writable.is_set() or protocol.close_sent or transport.is_closing():
            return False
        conn = protocol.conn
        if not conn.extensions:
            transport.write(batch.wire(encoding))
            return True
        for pushed in batch.items:
            data = pushed.encoded(encoding)
            if isinstance(data, str):
                conn.send_text(data.encode())
            else:
                conn.send_binary(data)
        transport.write(b"".join(conn.data_to_send()))
        return True


def direct_wire(scope: Scope) -> DirectWire | None:
    """The fast path for this socket, or None when its server is not one we know."""
    owner = getattr(scope.get(RAW_SEND_KEY), "__self__", None)
    if WebSocketsSansIOProtocol is None or not isinstance(owner, WebSocketsSansIOProtocol):
        return None
    return DirectWire(owner)
