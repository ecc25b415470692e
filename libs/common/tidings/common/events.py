"""Events that storage publishes to JetStream through its outbox, and their stream."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, JsonValue

MESSAGES_POSTED = "messages_posted"


class PostedMessage(BaseModel):
    id: str
    body: JsonValue  # plaintext, also for encrypted queues: events stay inside the cloud
    ttl: int
    delay: int = 0
    # The message's per-queue sequence = its list marker; lets a websocket resume after it.
    seq: int | None = None


class MessagesPostedEvent(BaseModel):
    """One per committed post request; ``event_id`` is the JetStream de-duplication id."""

    event_id: str
    project: str
    queue: str
    client_id: str
    created: float
    messages: list[PostedMessage]
    # The request id of the post (from the gateway's X-Request-ID or made by the api), so the
    # logs of its deliveries can be joined to the request that caused them.
    request_id: str | None = None
    # The post's W3C trace context (storage's span when tracing is on, else the gateway's
    # traceparent passed along): deliveries continue this trace.
    traceparent: str | None = None
    tracestate: str | None = None


SUBSCRIPTION_CHANGED = "subscription_changed"

SubscriptionChange = Literal[
    "created", "duplicate", "updated", "confirmed", "unsubscribed", "deleted"
]


class SubscriptionChangedEvent(BaseModel):
    """One per committed subscription write. Notifiers drop their cached subscriptions of the
    queue, and send a confirmation request for ``created`` and ``duplicate`` (an unconfirmed
    subscription posted again) and the unsubscribe notice for ``unsubscribed``."""

    event_id: str
    project: str
    queue: str
    subscription_id: str
    change: SubscriptionChange
    created: float
    # As on MessagesPostedEvent: the confirmation it leads to logs and traces as its request.
    request_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
