"""Runs the hot statements on PostgreSQL with psycopg directly, each in one round trip.

SQLAlchemy's asyncio layer costs several hundred microseconds of CPU per statement here
(a greenlet hop per driver call, execution context, result proxy) — more than PostgreSQL spends
executing it. The statements of :mod:`tidings.storage.drivers.statements` are compiled once
with SQLAlchemy's psycopg dialect into SQL text and run on connections from psycopg's own
pool in autocommit, so every one is its own transaction with no BEGIN/COMMIT round trips. Rows
come back as named tuples, so callers read them like SQLAlchemy rows.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import SQLCompiler

from tidings.common.errors import ServiceUnavailable

_DIALECT = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
# SQLAlchemy renders an expanding IN as a placeholder it fills at execution; psycopg can pass
# the whole list as one array parameter instead, which keeps the SQL text fixed.
_EXPANDING_IN = re.compile(r"IN \(__\[POSTCOMPILE_(\w+)\]\)")


def compile_statement(statement: sa.Executable) -> tuple[str, dict[str, Any]]:
    """The statement as psycopg SQL text with ``%(name)s`` parameters, and the values of the
    parameters SQLAlchemy made from literals in the statement."""
    compiled = cast(SQLCompiler, cast(sa.ClauseElement, statement).compile(dialect=_DIALECT))
    constants = {
        name: bind.value
        for name, bind in compiled.binds.items()
        if not bind.required and name in compiled.params
    }
    return _EXPANDING_IN.sub(r"= ANY(%(\1)s)", str(compiled)), constants


# Every storage session: durable commits whatever the server's default (a 201 promises
# durability), and no bitmap scans. Storage's statements are short and index-driven: a page
# or a claim walks one queue's (queue_id, seq) index and stops at its limit. The planner cannot
# know the queue id (a subquery) and underestimates the rows its filters keep, so it preferred
# a bitmap of every message after the marker plus a sort: 0.9 ms for a 2k-message queue and
# growing with the queue, against 0.2 ms for the ordered index scan, whatever the queue size.
SESSION_OPTIONS = "-c synchronous_commit=on -c enable_bitmapscan=off"
# The executor's statements are prepared once per connection, and PostgreSQL's plan cache then
# chooses per execution between the generic plan and a fresh custom plan. Depending on the
# statistics of the moment it judged the claim statement's generic plan the costlier and
# planned every claim again: 0.64 ms of planning on top of 0.87 ms of execution, for a plan
# reading the same buffers.
# Every statement of this module is written to need no parameter values to plan well (the
# queue is looked up in a subquery, pages walk the (queue_id, seq) index), so the generic plan
# is always taken. The SQLAlchemy engine's ad hoc statements keep the default choice.
# A generic plan is made once per connection, from the table sizes of that moment, and kept
# until the table's statistics change. The outbox is empty whenever autovacuum looks at it, so
# its delete by event ids was planned as a sequential scan and kept as one while a minute of
# dead rows piled up between vacuums: 0.65 ms per post batch at 1,450 posts/s, growing with
# the pile (19 MB), against ~0.05 ms by the event id index. Every statement here has an index
# made for it, so sequential scans are ruled out where an index can serve (a table without a
# usable index is still scanned: the setting only penalises the choice).
EXECUTOR_OPTIONS = SESSION_OPTIONS + " -c plan_cache_mode=force_generic_plan -c enable_seqscan=off"


def conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


class PgExecutor:
    def __init__(self, url: str, *, min_size: int, max_size: int) -> None:
        self._pool = AsyncConnectionPool(
            conninfo(url),
            min_size=min_size,
            max_size=max_size,
            open=False,
            # Waiting longer for a connection only delays the 503 of an outage (guarantee 7):
            # with one group-commit worker a post may wait out a failing batch and then its own.
            timeout=0.5,
            kwargs={
                "autocommit": True,
                "options": EXECUTOR_OPTIONS,
                "connect_timeout": 5,
                "row_factory": namedtuple_row,
            },
        )
        # Keyed by the statement object itself: the hot statements are built once and live as
        # long as the process.
        self._sql: dict[sa.Executable, tuple[str, dict[str, Any]]] = {}

    async def open(self) -> None:
        # Connections are made on demand: an unreachable database must not stop startup.
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    def compiled(
        self, statement: sa.Executable, params: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        found = self._sql.get(statement)
        if found is None:
            found = self._sql[statement] = compile_statement(statement)
        text, constants = found
        return text, {**constants, **params} if constants else params

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PipelinedTransaction]:
        """Statements in one transaction, pipelined: BEGIN goes out with the first statement
        and COMMIT with the last ones, so a transaction that reads once costs two round
        trips (a few more when it ends with a COPY, see :meth:`PipelinedTransaction.insert_rows`).
        """
        try:
            async with self._pool.connection() as conn:
                run = PipelinedTransaction(self, conn)
                await run.begin()
                try:
                    yield run
                except BaseException:
                    await run.rollback()
                    raise
                await run.commit()
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise ServiceUnavailable("The database is unavailable.") from exc

    async def fetch(self, statement: sa.Executable, params: dict[str, Any]) -> Sequence[Any]:
        """Run one statement that returns rows; its own transaction."""
        text, params = self.compiled(statement, params)
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(text, params, prepare=True)
                return await cursor.fetchall()
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise ServiceUnavailable("The database is unavailable.") from exc

    async def execute(self, statement: sa.Executable, params: dict[str, Any]) -> int:
        """Run one statement and return how many rows it affected; its own transaction."""
        text, params = self.compiled(statement, params)
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(text, params, prepare=True)
                return cursor.rowcount
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise ServiceUnavailable("The database is unavailable.") from exc


# Below this many rows executemany in the pipeline is cheaper than leaving the pipeline for a
# COPY (two more round trips); above it COPY's 3 us of client CPU a row beats executemany's 11.
COPY_MIN_ROWS = 40


class PipelinedTransaction:
    """A :class:`~tidings.storage.drivers.runner.StatementRunner` inside a psycopg pipeline.

    BEGIN and COMMIT are sent as statements (the connection is in autocommit), so the pipeline
    can be left inside the transaction for a COPY, which pipeline mode does not allow.
    """

    def __init__(self, executor: PgExecutor, conn: psycopg.AsyncConnection[Any]) -> None:
        self._executor = executor
        self._conn = conn
        self._pipeline_scope: AbstractAsyncContextManager[psycopg.AsyncPipeline] | None = None
        self._pipeline_handle: psycopg.AsyncPipeline | None = None

    @property
    def _pipeline(self) -> psycopg.AsyncPipeline:
        assert self._pipeline_handle is not None, "the pipeline was left for a COPY"
        return self._pipeline_handle

    async def begin(self) -> None:
        self._pipeline_scope = self._conn.pipeline()
        self._pipeline_handle = await self._pipeline_scope.__aenter__()
        await self._conn.execute("BEGIN")

    async def commit(self) -> None:
        await self._conn.execute("COMMIT")
        await self._leave_pipeline()  # sends what is queued and waits for every result

    async def rollback(self) -> None:
        # The error being handled is the caller's; a connection too broken to roll back is
        # discarded by the pool, which never hands out one left inside a transaction.
        with contextlib.suppress(psycopg.Error):
            await self._leave_pipeline()
        with contextlib.suppress(psycopg.Error):
            if not self._conn.closed:
                await self._conn.execute("ROLLBACK")

    async def _leave_pipeline(self) -> None:
        scope, self._pipeline_scope, self._pipeline_handle = self._pipeline_scope, None, None
        if scope is not None:
            await scope.__aexit__(None, None, None)

    async def fetch(self, statement: sa.Executable, params: dict[str, Any]) -> Sequence[Any]:
        text, params = self._executor.compiled(statement, params)
        cursor = await self._conn.execute(text, params, prepare=True)
        return await cursor.fetchall()  # waits for this result: the pipeline syncs here

    async def fetch_each(
        self, statement: sa.Executable, params: list[dict[str, Any]]
    ) -> list[Sequence[Any]]:
        cursors = []
        for each in params:
            text, values = self._executor.compiled(statement, each)
            cursors.append(await self._conn.execute(text, values, prepare=True))
        return [await cursor.fetchall() for cursor in cursors]  # the first one syncs

    async def execute(self, statement: sa.Executable, params: dict[str, Any]) -> int:
        text, params = self._executor.compiled(statement, params)
        cursor = await self._conn.execute(text, params, prepare=True)
        await self._pipeline.sync()  # the row count is known once the result is in
        return cursor.rowcount

    async def send(self, statement: sa.Executable, params: dict[str, Any]) -> None:
        text, params = self._executor.compiled(statement, params)
        await self._conn.execute(text, params, prepare=True)  # queued: no sync

    async def executemany(self, statement: sa.Executable, rows: list[dict[str, Any]]) -> None:
        text, _ = self._executor.compiled(statement, {})
        async with self._conn.cursor() as cursor:
            await cursor.executemany(text, rows)

    async def insert_rows(
        self, statement: sa.Executable, table: sa.Table, rows: list[dict[str, Any]]
    ) -> None:
        if len(rows) < COPY_MIN_ROWS:
            await self.executemany(statement, rows)
            return
        keys = list(rows[0])
        columns = ", ".join(key.removeprefix("p_") for key in keys)
        await self._leave_pipeline()  # raises here if a queued statement failed
        async with (
            self._conn.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                await copy.write_row([row[key] for key in keys])
