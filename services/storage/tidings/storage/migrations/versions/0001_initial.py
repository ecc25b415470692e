"""Queues, messages, claims and the event outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(256), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("project", "name", name="uq_queues_project_name"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("queue_id", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("encrypted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("expires", sa.Double, nullable=False),
        sa.Column("visible_at", sa.Double, nullable=False),
        sa.Column("claim_id", sa.String(32), nullable=True),
        sa.Column("claim_expires", sa.Double, nullable=True),
        sa.Column("claim_count", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("queue_id", "seq", name="uq_messages_queue_seq"),
    )
    op.create_index("ix_messages_expires", "messages", ["expires"])
    op.create_index("ix_messages_claim_id", "messages", ["claim_id"])
    op.create_table(
        "claims",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("queue_id", sa.BigInteger, nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("grace", sa.Integer, nullable=False),
        sa.Column("updated", sa.Double, nullable=False),
        sa.Column("expires", sa.Double, nullable=False),
    )
    op.create_index("ix_claims_queue_id", "claims", ["queue_id"])
    op.create_index("ix_claims_expires", "claims", ["expires"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False, unique=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("published", sa.Double, nullable=True),
    )
    op.create_index("ix_outbox_published", "outbox", ["published", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("claims")
    op.drop_table("messages")
    op.drop_table("queues")
