"""Autovacuum settings for the tables that churn like a queue (PostgreSQL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Every message is inserted, updated by its claims and deleted, most within minutes; an outbox
row lives a few milliseconds; claims come and go with their messages. PostgreSQL's default
vacuums a table once a fifth of it is dead: a queue of a million messages then carries up to
200,000 dead rows, and every claim and every page of a listing steps over the dead index
entries at the queue's head before it reaches a live message. These tables are vacuumed after
2% (messages, claims) or after 1,000 dead rows whatever their size (outbox, which holds almost
nothing live), so the walk stays short. An operator who turned autovacuum off keeps it off:
table settings only tune it. SQLite needs nothing (the sweeper's deletes free pages for reuse).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHURNING_TABLES: dict[str, dict[str, str]] = {
    "messages": {
        "autovacuum_vacuum_scale_factor": "0.02",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_analyze_scale_factor": "0.05",
    },
    "claims": {
        "autovacuum_vacuum_scale_factor": "0.02",
        "autovacuum_vacuum_threshold": "1000",
    },
    "outbox": {
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "1000",
    },
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, options in CHURNING_TABLES.items():
        settings = ", ".join(f"{name} = {value}" for name, value in options.items())
        op.execute(f"ALTER TABLE {table} SET ({settings})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, options in CHURNING_TABLES.items():
        op.execute(f"ALTER TABLE {table} RESET ({', '.join(options)})")
