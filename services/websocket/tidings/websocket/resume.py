"""Resuming a socket subscription after a reconnect, with no gap and no duplicate.

Beyond Zaqar: ``subscription_create`` with body field ``resume_marker`` (the ``marker`` of the
last notification the client saw, or a ``message_list`` marker) first replays every message
still in the queue after that marker, then continues with live pushes:

1. the live subscription starts first, in buffering mode (the NATS server knows of it before
   anything is read), so no message committed from then on can be missed;
2. the backlog is read with ``message.list`` pages from the marker (all messages: own, claimed
   and delayed ones too), each sent as a notification frame with its ``marker``; pages are
   paced by the socket's send buffer, so a long backlog never overflows it;
3. the buffered live messages are flushed, minus those the backlog already sent (by id, and by
   marker: storage commits a queue's posts in marker order, so any live message at or below the
   backlog's last marker was either replayed or is gone), then delivery stays live.

The replay is bounded by the messages' TTLs (expired messages are not listed). If storage
fails mid-replay the socket is closed with 1011 so the client resumes again from its marker.
"""

from __future__ import annotations

import logging

from tidings.common import schemas as s
from tidings.common.errors import TidingsError
from tidings.websocket.actions.base import Context
from tidings.websocket.notifications import notification
from tidings.websocket.subscriptions import SocketSubscription

log = logging.getLogger(__name__)

RESUME_FAILED_CLOSE_CODE = 1011


def _markers(page: s.MessageListReply) -> list[str | None]:
    if page.markers is not None and len(page.markers) == len(page.messages):
        return list(page.markers)
    # A storage without per-message markers: only the page's last one is known.
    known: list[str | None] = [None] * len(page.messages)
    if known:
        known[-1] = page.marker
    return known


async def replay(ctx: Context, sub: SocketSubscription, resume_marker: str) -> None:
    session = ctx.session
    page_size = ctx.settings.max_messages_per_page
    marker: str | None = resume_marker
    client_id = str(ctx.headers.get("Client-ID", ""))
    try:
        while await session.room(page_size):
            page = await ctx.call(
                "message.list",
                s.MessageListRequest(
                    project=sub.project,
                    queue=sub.queue,
                    client_id=client_id,
                    marker=marker,
                    limit=page_size,
                    echo=True,
                    include_claimed=True,
                    include_delayed=True,
                ),
                s.MessageListReply,
            )
            if not page.messages:
                break
            for message, message_marker in zip(page.messages, _markers(page), strict=True):
                frame = notification(
                    sub.queue, message.id, message.body, message.ttl, message_marker
                )
                sub.replayed(frame, message_marker)
            marker = page.marker
    except TidingsError as exc:
        log.warning("resume of %s/%s failed: %s", sub.project, sub.queue, exc)
        session.abort(RESUME_FAILED_CLOSE_CODE, "Resume failed; please resume again.")
        return
    sub.go_live(resume_marker)
