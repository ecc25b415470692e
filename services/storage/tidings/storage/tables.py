"""The database schema as SQLAlchemy Core tables (the migrations create exactly these).

Times are epoch seconds (double precision) from the storage process clock. Expired rows stay
until the sweeper removes them, so every query filters on ``expires`` itself.
"""

from __future__ import annotations

import sqlalchemy as sa

# SQLite only auto-increments an ``INTEGER PRIMARY KEY`` (the rowid alias), not a BIGINT one.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Epoch: sa.Double[float] = sa.Double()

metadata = sa.MetaData()

queues = sa.Table(
    "queues",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(256), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),  # JSON object as stored by the client
    sa.Column("created", Epoch, nullable=False),
    # The last message sequence number handed out; bumped inside each posting transaction.
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("project", "name", name="uq_queues_project_name"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("queue_id", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # JSON text, or base64 ciphertext if encrypted
    sa.Column("encrypted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("checksum", sa.String(64), nullable=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("ttl", sa.Integer, nullable=False),  # reported ttl (claims may rewrite it)
    sa.Column("created", Epoch, nullable=False),
    sa.Column("expires", Epoch, nullable=False),
    sa.Column("visible_at", Epoch, nullable=False),  # created + delay on delayed queues
    sa.Column("claim_id", sa.String(32), nullable=True),  # may be stale: check claim_expires
    sa.Column("claim_expires", Epoch, nullable=True),
    sa.Column("claim_count", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("queue_id", "seq", name="uq_messages_queue_seq"),
    sa.Index("ix_messages_expires", "expires"),
    # No index on claim_id (migration 0008): a claim's messages are found through its
    # ``claims.message_ids``, so a claim changes no indexed column and PostgreSQL rewrites the
    # rows in place (the table keeps half of each page free for that: fillfactor 50).
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("queue_id", sa.BigInteger, nullable=False),
    sa.Column("ttl", sa.Integer, nullable=False),
    sa.Column("grace", sa.Integer, nullable=False),
    sa.Column("updated", Epoch, nullable=False),  # creation or last renewal: age counts from it
    sa.Column("expires", Epoch, nullable=False),
    # The claimed messages' ids, comma-separated (NULL for a claim made before migration 0008).
    sa.Column("message_ids", sa.Text, nullable=True),
    sa.Index("ix_claims_queue_id", "queue_id"),
    sa.Index("ix_claims_expires", "expires"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(32), nullable=False, unique=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created", Epoch, nullable=False),
)

# Subscriptions name their queue rather than point at its row: they outlive it (spec 2.5.5).
# ``subscriber_key`` (sha256 of the URI) carries the uniqueness, as URIs can outgrow an index.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # time-ordered: lists sort by creation
    sa.Column("project", sa.String(256), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("subscriber", sa.Text, nullable=False),
    sa.Column("subscriber_key", sa.String(64), nullable=False),
    sa.Column("ttl", sa.Integer, nullable=False),
    sa.Column("options", sa.Text, nullable=False),  # JSON object
    sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("signing_secret", sa.String(64), nullable=False),
    sa.Column("created", Epoch, nullable=False),
    sa.Column("expires", Epoch, nullable=False),
    sa.UniqueConstraint(
        "project", "queue", "subscriber_key", name="uq_subscriptions_project_queue_subscriber"
    ),
    sa.Index("ix_subscriptions_project_queue_id", "project", "queue", "id"),
    sa.Index("ix_subscriptions_expires", "expires"),
)

# Notifications the notifier gave up on (its retry policy ran out), kept for a while so the
# tenant can list them. One row per delivery id: a redelivered event adds nothing.
failed_deliveries = sa.Table(
    "failed_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.String(64), nullable=False, unique=True),
    sa.Column("project", sa.String(256), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("subscription_id", sa.String(32), nullable=False),
    sa.Column("subscriber", sa.Text, nullable=False),
    sa.Column("message_id", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("failed", Epoch, nullable=False),
    sa.Column("expires", Epoch, nullable=False),
    sa.Index("ix_failed_deliveries_project_queue_id", "project", "queue", "id"),
    sa.Index("ix_failed_deliveries_expires", "expires"),
)

# Per-project storage usage, kept only while quotas are configured (see tidings.storage.quotas):
# messages and bytes are an upper bound of the live ones, exact as of ``counted`` (0: never).
project_usage = sa.Table(
    "project_usage",
    metadata,
    sa.Column("project", sa.String(256), primary_key=True),
    sa.Column("messages", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("counted", Epoch, nullable=False),
)


# ---------------------------------------------------------------- pool catalog (Zaqar's pooling)
# Read only in the default database (TIDINGS_DATABASE_URL); migration 0004 creates them in
# every database. See tidings.storage.pools.
pools = sa.Table(
    "pools",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("uri", sa.String(255), nullable=False, unique=True),
    sa.Column("weight", sa.BigInteger, nullable=False),
    sa.Column("flavor", sa.String(255), nullable=True),
    sa.Column("options", sa.Text, nullable=False),  # JSON object, kept for the operator
)

flavors = sa.Table(
    "flavors",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
)

# One row per queue ever placed while pools existed; ``pool`` NULL is the default database.
# A row is never moved: a queue stays where it was placed, across deletes and pool changes.
placements = sa.Table(
    "placements",
    metadata,
    sa.Column("project", sa.String(256), primary_key=True),
    sa.Column("queue", sa.String(64), primary_key=True),
    sa.Column("pool", sa.String(255), nullable=True, index=True),
    sa.Column("placed", Epoch, nullable=False),
)
