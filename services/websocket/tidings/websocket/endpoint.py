"""The life of one socket: read frames one by one, answer each, push, close.

Frames of one socket are answered in order (Zaqar clients match replies to requests by
order). Replies and pushes leave through the session's bounded buffer; the socket ends when
the client leaves, the writer fails, or the session aborts (slow consumer, failed resume), and
its socket subscriptions end with it.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket

from tidings.websocket import metrics
from tidings.websocket.auth import AUTH_EXPIRED_CODE, AUTH_EXPIRED_REASON, AuthState
from tidings.websocket.dispatch import Dispatcher
from tidings.websocket.fanout import Fanout
from tidings.websocket.protocol import envelope
from tidings.websocket.session import Session
from tidings.websocket.settings import WebsocketSettings
from tidings.websocket.subscriptions import SocketSubscriptions
from tidings.websocket.wire import direct_wire


async def _read_loop(
    websocket: WebSocket,
    dispatcher: Dispatcher,
    session: Session,
    subscriptions: SocketSubscriptions,
) -> None:
    auth = AuthState(on_expiry=lambda: session.abort(AUTH_EXPIRED_CODE, AUTH_EXPIRED_REASON))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            data = text if text is not None else message.get("bytes") or b""
            request, reply = await dispatcher.handle(data, session, subscriptions, auth)
            session.send(envelope(request, reply), request.encoding)
            if reply.after is not None:
                await reply.after()
    finally:
        auth.clear()  # no expiry timer outlives the socket


async def serve_socket(
    websocket: WebSocket, dispatcher: Dispatcher, fanout: Fanout, settings: WebsocketSettings
) -> None:
    await websocket.accept()
    session = Session(websocket, settings.send_buffer_frames, direct_wire(websocket.scope))
    subscriptions = SocketSubscriptions(session, fanout)
    metrics.OPEN_SOCKETS.inc()
    writer = asyncio.create_task(session.write_loop())
    reader = asyncio.create_task(_read_loop(websocket, dispatcher, session, subscriptions))
    aborted = asyncio.create_task(session.closing.wait())
    try:
        await asyncio.wait({reader, writer, aborted}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        reader.cancel()
        aborted.cancel()
        await subscriptions.close_all()  # stop pushes first
        if session.closing.is_set() and not writer.done():
            # A server-side close: what was buffered goes first, then the close frame.
            await session.flush(settings.close_timeout)
            writer.cancel()
            await session.close(settings.close_timeout)
        writer.cancel()
        for task in (reader, writer, aborted):
            with contextlib.suppress(BaseException):
                await task
        metrics.OPEN_SOCKETS.dec()
