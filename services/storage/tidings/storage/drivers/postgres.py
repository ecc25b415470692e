"""PostgreSQL (psycopg 3, async): production storage."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tidings.storage import metrics
from tidings.storage.drivers.pg_executor import SESSION_OPTIONS, PgExecutor
from tidings.storage.drivers.runner import StatementRunner
from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.tables import queues


class PostgresDriver(SqlDriver):
    dialect = "postgresql"
    autocommit_reads = True
    pipelined_batches = True
    claims_in_one_statement = True

    def _create_engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        engine = create_async_engine(
            self.url,
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.pool_max_overflow,
            # No pre-ping: it costs a round trip per transaction. A connection found dead
            # fails its request with a 503 and SQLAlchemy then recycles the whole pool.
            pool_timeout=10,
            connect_args={"options": SESSION_OPTIONS, "connect_timeout": 5},
        )
        # Reads run in autocommit: under READ COMMITTED every statement takes its own snapshot
        # anyway, so BEGIN and COMMIT would only add two round trips to each read.
        return engine, engine.execution_options(isolation_level="AUTOCOMMIT")

    _executor: PgExecutor | None = None

    async def open_engines(self) -> None:
        await super().open_engines()
        if self._executor is None:
            max_size = self.settings.pool_size + self.settings.pool_max_overflow
            self._executor = PgExecutor(self.url, min_size=min(2, max_size), max_size=max_size)
            await self._executor.open()

    async def close_engines(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await executor.close()
        await super().close_engines()

    def _running_executor(self) -> PgExecutor:
        if self._executor is None:
            raise RuntimeError("driver is not open")
        return self._executor

    # The one-statement operations and the group commit skip SQLAlchemy's execution layer
    # (see pg_executor).

    @asynccontextmanager
    async def _batch(self, operation: str) -> AsyncIterator[StatementRunner]:
        with self._timed(operation) as executor:
            async with executor.transaction() as transaction:
                yield transaction

    @contextmanager
    def _timed(self, operation: str) -> Iterator[PgExecutor]:
        started = time.perf_counter()
        try:
            yield self._running_executor()
        finally:
            metrics.QUERY_LATENCY.labels(operation).observe(time.perf_counter() - started)

    async def _fetch(
        self, operation: str, statement: sa.Executable, params: dict[str, Any], *, write: bool
    ) -> Sequence[Any]:
        with self._timed(operation) as executor:
            return await executor.fetch(statement, params)

    async def _execute(
        self, operation: str, statement: sa.Executable, params: dict[str, Any]
    ) -> int:
        with self._timed(operation) as executor:
            return await executor.execute(statement, params)

    def _insert(self, table: sa.Table) -> Any:
        return insert(table)

    def _name_contains(self, text: str) -> sa.ColumnElement[bool]:
        return sa.func.strpos(queues.c.name, text) > 0

    def _byte_length(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        return sa.func.octet_length(column, type_=sa.BigInteger())
