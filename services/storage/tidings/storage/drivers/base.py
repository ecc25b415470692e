"""What every SQL operation shares: engines, transactions, the clock and row conversion.

One implementation serves both databases; the dialect subclasses only build the engines and say
how to "insert unless present". Writes run in :meth:`SqlBase._write` transactions, reads in
:meth:`SqlBase._read` ones, both timed into the query latency histogram.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidings.common import schemas as s
from tidings.common.errors import ServiceUnavailable
from tidings.storage import metrics
from tidings.storage.codec import BodyCipher
from tidings.storage.drivers.queue_info import QueueInfo
from tidings.storage.drivers.runner import SqlAlchemyRunner, StatementRunner
from tidings.storage.drivers.statements import QUEUE_BY_NAME
from tidings.storage.quotas import Quotas
from tidings.storage.settings import StorageSettings
from tidings.storage.tables import queues

Clock = Callable[[], float]

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def is_id(value: str) -> bool:
    """Message and claim ids are 32 hex digits (tidings.storage.ids); anything else cannot exist
    (so: not found)."""
    return bool(_HEX32.match(value))


def marker_before_nul(marker: str | None) -> str | None:
    """A list marker compared with names or ids, none of which holds a NUL: PostgreSQL takes
    no NUL in a text parameter, and cutting the marker at its first NUL selects the same rows
    (in code-point order, everything after ``"a\\0..."`` is everything after ``"a"``)."""
    return marker.split("\0", 1)[0] if marker is not None else None


class SqlBase:
    """Engines, transactions and helpers; the operations live in the mixins built on this."""

    dialect: str = "sql"
    # Whether the read engine runs in autocommit, so that one self-contained statement can
    # run there as its own transaction (see :meth:`_statement`).
    autocommit_reads: bool = False
    # Whether the batch runner pipelines statements (sends several before waiting): then a
    # post batch sends the sequence bumps of all its queues at once.
    pipelined_batches: bool = False

    def __init__(self, url: str, settings: StorageSettings, *, clock: Clock = time.time) -> None:
        self.url = url
        self.settings = settings
        self.clock = clock
        self.cipher = BodyCipher(settings.message_encryption_key)
        self.quotas = Quotas(settings)
        self._write_engine: AsyncEngine | None = None
        self._read_engine: AsyncEngine | None = None

    # ------------------------------------------------------------ engines

    def _create_engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        """(write engine, read engine); they may be the same object."""
        raise NotImplementedError

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT construct, which offers ``on_conflict_do_nothing``."""
        raise NotImplementedError

    @property
    def engine(self) -> AsyncEngine:
        if self._write_engine is None:
            raise RuntimeError("driver is not open")
        return self._write_engine

    async def open_engines(self) -> None:
        if self._write_engine is None:
            self._write_engine, self._read_engine = self._create_engines()

    async def close_engines(self) -> None:
        write, read = self._write_engine, self._read_engine
        self._write_engine = self._read_engine = None
        if read is not None and read is not write:
            await read.dispose()
        if write is not None:
            await write.dispose()

    async def ping(self) -> bool:
        try:
            async with self._read("ping") as conn:
                await conn.execute(sa.text("SELECT 1"))
        except ServiceUnavailable:
            return False
        return True

    @asynccontextmanager
    async def _write(self, operation: str) -> AsyncIterator[AsyncConnection]:
        async with self._transaction(self.engine, operation) as conn:
            yield conn

    @asynccontextmanager
    async def _read(self, operation: str) -> AsyncIterator[AsyncConnection]:
        engine = self._read_engine
        if engine is None:
            raise RuntimeError("driver is not open")
        async with self._transaction(engine, operation) as conn:
            yield conn

    @asynccontextmanager
    async def _statement(self, operation: str) -> AsyncIterator[AsyncConnection]:
        """A connection for ONE writing statement that needs no transaction around it.

        With autocommit reads (PostgreSQL) the statement is its own transaction, which saves
        the BEGIN and COMMIT round trips; otherwise it runs in a write transaction.
        """
        engine = self._read_engine if self.autocommit_reads else self._write_engine
        if engine is None:
            raise RuntimeError("driver is not open")
        async with self._transaction(engine, operation) as conn:
            yield conn

    @asynccontextmanager
    async def _batch(self, operation: str) -> AsyncIterator[StatementRunner]:
        """A write transaction for a fixed set of prepared statements (the group commit)."""
        async with self._write(operation) as conn:
            yield SqlAlchemyRunner(conn)

    async def _fetch(
        self, operation: str, statement: sa.Executable, params: dict[str, Any], *, write: bool
    ) -> Sequence[Any]:
        """Rows of ONE self-contained statement (see :meth:`_statement` for writes)."""
        context = self._statement(operation) if write else self._read(operation)
        async with context as conn:
            return (await conn.execute(statement, params)).all()

    async def _execute(
        self, operation: str, statement: sa.Executable, params: dict[str, Any]
    ) -> int:
        """Run ONE self-contained writing statement; how many rows it affected."""
        async with self._statement(operation) as conn:
            return (await conn.execute(statement, params)).rowcount

    @asynccontextmanager
    async def _transaction(
        self, engine: AsyncEngine, operation: str
    ) -> AsyncIterator[AsyncConnection]:
        started = time.perf_counter()
        try:
            async with engine.begin() as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise ServiceUnavailable("The database is unavailable.") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise ServiceUnavailable("The database is unavailable.") from exc
            raise
        finally:
            metrics.QUERY_LATENCY.labels(operation).observe(time.perf_counter() - started)

    # ------------------------------------------------------------ queues

    async def _queue(
        self, conn: AsyncConnection, project: str, name: str, *, lock: bool = False
    ) -> QueueInfo | None:
        query = QUEUE_BY_NAME.with_for_update() if lock else QUEUE_BY_NAME
        row = (await conn.execute(query, {"p_project": project, "p_queue": name})).first()
        if row is None:
            return None
        return QueueInfo.from_row(row.id, row.name, row.metadata, row.created)

    @cached_property
    def _create_queue_unless_present(self) -> sa.Executable:
        """Parameters ``p_project``, ``p_queue``, ``p_metadata``, ``p_created``; a row back
        only when it created the queue (RETURNING: drivers disagree on rowcount here)."""
        statement: sa.Executable = (
            self._insert(queues)
            .values(
                project=sa.bindparam("p_project"),
                name=sa.bindparam("p_queue"),
                metadata=sa.bindparam("p_metadata"),
                created=sa.bindparam("p_created", type_=sa.Double()),
            )
            .on_conflict_do_nothing(index_elements=["project", "name"])
            .returning(queues.c.id)
        )
        return statement

    async def _ensure_queue(
        self, conn: AsyncConnection, project: str, name: str, metadata_text: str = "{}"
    ) -> bool:
        """Create the queue unless it exists; True when this call created it."""
        statement = (
            self._insert(queues)
            .values(project=project, name=name, metadata=metadata_text, created=self.clock())
            .on_conflict_do_nothing(index_elements=["project", "name"])
            .returning(queues.c.id)
        )
        # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT.
        return (await conn.execute(statement)).first() is not None

    # ------------------------------------------------------------ messages

    def _message(self, row: Any, now: float, *, with_checksum: bool = True) -> s.Message:
        live_claim = row.claim_id is not None and (row.claim_expires or 0) > now
        # Built without validation: every value comes from our own columns.
        return s.Message.model_construct(
            id=row.id,
            ttl=row.ttl,
            age=max(0, int(now - row.created)),
            body=self.cipher.decode(row.body, row.encrypted),
            claim_id=row.claim_id if live_claim else None,
            claim_count=row.claim_count,
            checksum=row.checksum if with_checksum else None,
        )
