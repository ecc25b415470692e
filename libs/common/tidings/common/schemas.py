"""Typed requests and replies of the storage RPC (``tidings.rpc.<operation>``).

Every operation has a request model; :data:`OPERATIONS` maps its name to the request model and
the reply model. Storage serves exactly these; transports call them through
:class:`tidings.common.rpc.StorageClient`. Message bodies and metadata are arbitrary JSON
values, typed as ``JsonValue``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from tidings.common.errors import ErrorPayload


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Empty(Schema):
    """A reply carrying nothing but success."""


# ---------------------------------------------------------------- scopes


class ProjectScoped(Schema):
    project: str


class QueueScoped(ProjectScoped):
    queue: str


# ---------------------------------------------------------------- queues


class QueueListRequest(ProjectScoped):
    marker: str | None = None
    limit: int = 10
    detailed: bool = False
    name: str | None = None  # substring filter
    with_count: bool = False
    filters: dict[str, JsonValue] = Field(default_factory=dict)  # metadata equality filters


class QueueItem(Schema):
    name: str
    metadata: dict[str, JsonValue] | None = None  # stored metadata, only when detailed


class QueueListReply(Schema):
    queues: list[QueueItem]
    count: int | None = None


class QueueCreateRequest(QueueScoped):
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class QueueCreateReply(Schema):
    created: bool


class QueueGetReply(Schema):
    """The stored metadata; ``exists`` is false for a queue never created (lazy queues)."""

    exists: bool
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class PatchOperation(Schema):
    op: Literal["add", "remove", "replace"]
    key: str  # the decoded second segment of "/metadata/<key>"
    value: JsonValue = None


class QueuePatchRequest(QueueScoped):
    operations: list[PatchOperation]


class QueueMetadataReply(Schema):
    metadata: dict[str, JsonValue]


class MessageRef(Schema):
    """Where a message stands in a queue: used by stats (oldest/newest)."""

    id: str
    age: int
    created: float  # epoch seconds


class QueueStatsReply(Schema):
    claimed: int
    free: int
    total: int
    oldest: MessageRef | None = None
    newest: MessageRef | None = None


class QueuePurgeRequest(QueueScoped):
    resource_types: list[Literal["messages", "subscriptions"]] = ["messages", "subscriptions"]


# ---------------------------------------------------------------- messages


class NewMessage(Schema):
    body: JsonValue
    ttl: int | None = None  # None: the queue's default, else the configured default
    delay: int | None = None  # honoured on delayed queues only


class MessagePostRequest(QueueScoped):
    client_id: str  # normalised: 32 lower-case hex digits when it is a UUID
    messages: list[NewMessage]
    content_length: int | None = None  # checked against the queue's _max_messages_post_size


class MessagePostReply(Schema):
    ids: list[str]


class Message(Schema):
    id: str
    ttl: int
    age: int
    body: JsonValue
    claim_id: str | None = None  # set while a live claim holds the message
    claim_count: int = 0
    checksum: str | None = None


class MessageListRequest(QueueScoped):
    client_id: str
    marker: str | None = None
    limit: int = 10
    echo: bool = False
    include_claimed: bool = False
    include_delayed: bool = False


class MessageListReply(Schema):
    messages: list[Message]
    marker: str | None = None  # the marker for the next page; None when the page is empty
    # The marker of each message of the page, in order (the websocket service tells sockets
    # where each replayed message stands, so a resume continues right after it).
    markers: list[str] | None = None
    delayed_queue: bool = False  # transports add include_delayed=true to links otherwise


class MessageGetRequest(QueueScoped):
    message_id: str


class MessageReply(Schema):
    message: Message


class MessageGetManyRequest(QueueScoped):
    message_ids: list[str]


class MessagesReply(Schema):
    messages: list[Message]


class MessageDeleteRequest(QueueScoped):
    message_id: str
    claim_id: str | None = None


class MessageDeleteManyRequest(QueueScoped):
    message_ids: list[str]
    claim_ids: list[str] | None = None


class MessagePopRequest(QueueScoped):
    count: int


# ---------------------------------------------------------------- claims


class ClaimCreateRequest(QueueScoped):
    ttl: int
    grace: int
    limit: int = 10


class ClaimCreateReply(Schema):
    claim_id: str | None  # None when nothing was claimable
    messages: list[Message]


class ClaimRequest(QueueScoped):
    claim_id: str


class ClaimGetReply(Schema):
    claim_id: str
    ttl: int
    age: int
    messages: list[Message]


class ClaimRenewRequest(QueueScoped):
    claim_id: str
    ttl: int
    grace: int


# ---------------------------------------------------------------- subscriptions


class Subscription(Schema):
    """A subscription as storage keeps it. ``signing_secret`` keys the HMAC signature header
    of webhook deliveries; only its own project ever sees it."""

    id: str
    queue: str
    subscriber: str
    ttl: int
    age: int
    options: dict[str, JsonValue]
    confirmed: bool
    signing_secret: str


class SubscriptionCreateRequest(QueueScoped):
    subscriber: str
    ttl: int
    options: dict[str, JsonValue] = Field(default_factory=dict)


class SubscriptionCreateReply(Schema):
    """``created`` is false when an unconfirmed subscription of the same subscriber existed:
    its id comes back and its ttl and options stay as they were (spec 2.9.2)."""

    subscription_id: str
    created: bool
    signing_secret: str


class SubscriptionListRequest(QueueScoped):
    marker: str | None = None
    limit: int = 10


class SubscriptionListReply(Schema):
    subscriptions: list[Subscription]


class SubscriptionRequest(QueueScoped):
    subscription_id: str


class SubscriptionReply(Schema):
    subscription: Subscription


class SubscriptionUpdateRequest(QueueScoped):
    """Fields left None keep their value; ``options`` replaces the stored ones wholesale."""

    subscription_id: str
    subscriber: str | None = None
    ttl: int | None = None
    options: dict[str, JsonValue] | None = None


class SubscriptionConfirmRequest(QueueScoped):
    subscription_id: str
    confirmed: bool


class DeliveryTargetsReply(Schema):
    """Every live subscription of a queue (no paging) and the queue's ``_retry_policy``."""

    subscriptions: list[Subscription]
    queue_retry_policy: dict[str, JsonValue] | None = None


class FailedDelivery(Schema):
    """A notification the notifier gave up on, kept so its tenant can ask where it went."""

    delivery_id: str
    subscription_id: str
    subscriber: str
    message_id: str
    attempts: int
    last_error: str
    failed: float = 0.0  # epoch seconds; set by storage


class FailedDeliveryRecordRequest(QueueScoped):
    delivery: FailedDelivery
    retention: int  # seconds the record is kept


class FailedDeliveryListRequest(QueueScoped):
    subscription_id: str | None = None
    marker: str | None = None
    limit: int = 10


class FailedDeliveryListReply(Schema):
    deliveries: list[FailedDelivery]
    marker: str | None = None


# ---------------------------------------------------------------- health


class PingReply(Schema):
    reachable: bool


class HealthReply(Schema):
    storage_reachable: bool
    message_volume: dict[str, int]
    operation_status: dict[str, dict[str, Any]]


# ---------------------------------------------------------------- pools and flavors (admin)

# Every pool is a PostgreSQL database with the same driver, so every flavor offers them all.
CAPABILITIES = ["FIFO", "CLAIMS", "DURABILITY", "AOD", "HIGH_THROUGHPUT"]


class Pool(Schema):
    name: str
    uri: str
    weight: int
    flavor: str | None = None
    options: dict[str, JsonValue] = Field(default_factory=dict)


class PoolRequest(Schema):
    name: str


class PoolListRequest(Schema):
    marker: str | None = None
    limit: int = 10


class PoolListReply(Schema):
    pools: list[Pool]


class PoolReply(Schema):
    pool: Pool


class PoolPutReply(Schema):
    created: bool


class PoolPatchRequest(Schema):
    name: str
    uri: str | None = None
    weight: int | None = None
    flavor: str | None = None
    options: dict[str, JsonValue] | None = None


class Flavor(Schema):
    name: str
    pool_list: list[str]
    capabilities: list[str] = Field(default_factory=lambda: list(CAPABILITIES))


class FlavorRequest(Schema):
    name: str


class FlavorListRequest(Schema):
    marker: str | None = None
    limit: int = 10


class FlavorListReply(Schema):
    flavors: list[Flavor]


class FlavorReply(Schema):
    flavor: Flavor


class FlavorPutRequest(Schema):
    name: str
    pool_list: list[str]


# ---------------------------------------------------------------- envelope


class RpcReply(Schema):
    """What storage answers to every request: a result or a typed error, never both."""

    result: dict[str, Any] | None = None
    error: ErrorPayload | None = None


OPERATIONS: dict[str, tuple[type[Schema], type[Schema]]] = {
    "queue.list": (QueueListRequest, QueueListReply),
    "queue.create": (QueueCreateRequest, QueueCreateReply),
    "queue.get": (QueueScoped, QueueGetReply),
    "queue.patch": (QueuePatchRequest, QueueMetadataReply),
    "queue.delete": (QueueScoped, Empty),
    "queue.stats": (QueueScoped, QueueStatsReply),
    "queue.purge": (QueuePurgeRequest, Empty),
    "message.post": (MessagePostRequest, MessagePostReply),
    "message.list": (MessageListRequest, MessageListReply),
    "message.get": (MessageGetRequest, MessageReply),
    "message.get_many": (MessageGetManyRequest, MessagesReply),
    "message.delete": (MessageDeleteRequest, Empty),
    "message.delete_many": (MessageDeleteManyRequest, Empty),
    "message.pop": (MessagePopRequest, MessagesReply),
    "claim.create": (ClaimCreateRequest, ClaimCreateReply),
    "claim.get": (ClaimRequest, ClaimGetReply),
    "claim.renew": (ClaimRenewRequest, Empty),
    "claim.release": (ClaimRequest, Empty),
    "subscription.create": (SubscriptionCreateRequest, SubscriptionCreateReply),
    "subscription.list": (SubscriptionListRequest, SubscriptionListReply),
    "subscription.get": (SubscriptionRequest, SubscriptionReply),
    "subscription.update": (SubscriptionUpdateRequest, Empty),
    "subscription.delete": (SubscriptionRequest, Empty),
    "subscription.confirm": (SubscriptionConfirmRequest, SubscriptionReply),
    "subscription.targets": (QueueScoped, DeliveryTargetsReply),
    "delivery.record_failure": (FailedDeliveryRecordRequest, Empty),
    "delivery.list_failures": (FailedDeliveryListRequest, FailedDeliveryListReply),
    "health.ping": (Empty, PingReply),
    "health.check": (ProjectScoped, HealthReply),
    "pool.list": (PoolListRequest, PoolListReply),
    "pool.get": (PoolRequest, PoolReply),
    "pool.put": (Pool, PoolPutReply),
    "pool.patch": (PoolPatchRequest, PoolReply),
    "pool.delete": (PoolRequest, Empty),
    "flavor.list": (FlavorListRequest, FlavorListReply),
    "flavor.get": (FlavorRequest, FlavorReply),
    "flavor.put": (FlavorPutRequest, Empty),
    "flavor.patch": (FlavorPutRequest, FlavorReply),
    "flavor.delete": (FlavorRequest, Empty),
}
