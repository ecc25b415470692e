"""The outbox forgets published events instead of marking them.

The relay now deletes an event once JetStream acknowledged it, so the ``published`` column and
its index (maintained on every post for nothing) go.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events published under the old scheme are in JetStream already.
    op.execute("DELETE FROM outbox WHERE published IS NOT NULL")
    # Batch mode: SQLite cannot drop an indexed column in place; it copies the table instead.
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_published")
        batch.drop_column("published")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("published", sa.Double, nullable=True))
        batch.create_index("ix_outbox_published", ["published", "id"])
