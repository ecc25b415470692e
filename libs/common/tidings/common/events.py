"""Events that storage publishes to JetStream through its outbox, and their stream."""

from __future__ import annotations

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
