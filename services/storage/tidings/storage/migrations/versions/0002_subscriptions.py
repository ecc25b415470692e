"""Subscriptions and the records of notifications the notifier gave up on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(256), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("subscriber", sa.Text, nullable=False),
        sa.Column("subscriber_key", sa.String(64), nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("signing_secret", sa.String(64), nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("expires", sa.Double, nullable=False),
        sa.UniqueConstraint(
            "project", "queue", "subscriber_key", name="uq_subscriptions_project_queue_subscriber"
        ),
    )
    op.create_index(
        "ix_subscriptions_project_queue_id", "subscriptions", ["project", "queue", "id"]
    )
    op.create_index("ix_subscriptions_expires", "subscriptions", ["expires"])
    op.create_table(
        "failed_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(64), nullable=False, unique=True),
        sa.Column("project", sa.String(256), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(32), nullable=False),
        sa.Column("subscriber", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("failed", sa.Double, nullable=False),
        sa.Column("expires", sa.Double, nullable=False),
    )
    op.create_index(
        "ix_failed_deliveries_project_queue_id", "failed_deliveries", ["project", "queue", "id"]
    )
    op.create_index("ix_failed_deliveries_expires", "failed_deliveries", ["expires"])


def downgrade() -> None:
    op.drop_table("failed_deliveries")
    op.drop_table("subscriptions")
