"""Shapes of the WebSocket reply bodies (spec 5.3): like REST, without hrefs and links."""

from __future__ import annotations

import time
from typing import Any

from tidings.common.schemas import Message, MessageRef, QueueStatsReply


def message_item(message: Message) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": message.id,
        "claim_id": message.claim_id,
        "ttl": message.ttl,
        "age": message.age,
        "body": message.body,
    }
    if message.checksum is not None:
        item["checksum"] = message.checksum
    return item


def popped_item(message: Message) -> dict[str, Any]:
    """Pop answers carry the raw storage shape, claim count included (spec 2.7.5)."""
    return {
        "id": message.id,
        "age": message.age,
        "ttl": message.ttl,
        "claim_count": message.claim_count,
        "claim_id": message.claim_id,
        "body": message.body,
    }


def _ref(ref: MessageRef) -> dict[str, Any]:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ref.created))
    return {"id": ref.id, "age": ref.age, "created": created}


def stats(reply: QueueStatsReply) -> dict[str, Any]:
    body: dict[str, Any] = {"claimed": reply.claimed, "free": reply.free, "total": reply.total}
    if reply.total and reply.oldest is not None and reply.newest is not None:
        body["oldest"] = _ref(reply.oldest)
        body["newest"] = _ref(reply.newest)
    return body
