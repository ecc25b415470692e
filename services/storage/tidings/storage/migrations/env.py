"""Alembic environment: migrations run on a connection handed in by tidings.storage.migrate.

Async URLs cannot be driven by Alembic's synchronous runner directly, so ``migrate.upgrade``
opens the async connection (taking the PostgreSQL advisory lock first) and passes the
synchronous facade of it in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from tidings.storage.tables import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `python -m tidings.storage.migrate`")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
