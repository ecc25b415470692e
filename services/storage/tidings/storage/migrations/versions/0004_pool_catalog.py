"""The pool catalog: pools, flavors and queue placements.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("uri", sa.String(255), nullable=False, unique=True),
        sa.Column("weight", sa.BigInteger, nullable=False),
        sa.Column("flavor", sa.String(255), nullable=True),
        sa.Column("options", sa.Text, nullable=False),
    )
    op.create_table("flavors", sa.Column("name", sa.String(255), primary_key=True))
    op.create_table(
        "placements",
        sa.Column("project", sa.String(256), primary_key=True),
        sa.Column("queue", sa.String(64), primary_key=True),
        sa.Column("pool", sa.String(255), nullable=True),
        sa.Column("placed", sa.Double, nullable=False),
    )
    op.create_index("ix_placements_pool", "placements", ["pool"])


def downgrade() -> None:
    op.drop_index("ix_placements_pool", "placements")
    op.drop_table("placements")
    op.drop_table("flavors")
    op.drop_table("pools")
