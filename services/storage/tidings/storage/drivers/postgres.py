"""PostgreSQL (psycopg 3, async): production storage."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.tables import queues


class PostgresDriver(SqlDriver):
    dialect = "postgresql"
    autocommit_reads = True
    claims_in_one_statement = True

    def _create_engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        engine = create_async_engine(
            self.url,
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.pool_max_overflow,
            # No pre-ping: it costs a round trip per transaction. A connection found dead
            # fails its request with a 503 and SQLAlchemy then recycles the whole pool.
            pool_timeout=10,
            # A 201 promises durability: never let a server default weaken commits.
            connect_args={"options": "-c synchronous_commit=on", "connect_timeout": 5},
        )
        # Reads run in autocommit: under READ COMMITTED every statement takes its own snapshot
        # anyway, so BEGIN and COMMIT would only add two round trips to each read.
        return engine, engine.execution_options(isolation_level="AUTOCOMMIT")

    def _insert(self, table: sa.Table) -> Any:
        return insert(table)

    def _name_contains(self, text: str) -> sa.ColumnElement[bool]:
        return sa.func.strpos(queues.c.name, text) > 0
