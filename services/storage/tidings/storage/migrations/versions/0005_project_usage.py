"""Per-project usage counters for quotas.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_usage",
        sa.Column("project", sa.String(256), primary_key=True),
        sa.Column("messages", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("counted", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("project_usage")
