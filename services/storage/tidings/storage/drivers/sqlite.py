"""SQLite (aiosqlite): the embedded single-machine storage.

WAL lets readers run beside the writer. Every write transaction starts with BEGIN IMMEDIATE,
taking the database write lock up front: two claimers can then never read the same free
message and both hand it out, which is what FOR UPDATE SKIP LOCKED achieves on PostgreSQL.
Writes go through a one-connection pool so writers of this process queue in asyncio rather
than spinning on SQLite's busy timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.tables import queues


def _configure(engine: AsyncEngine, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so our BEGIN is the one used.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 201 must survive a power cut
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


class SqliteDriver(SqlDriver):
    dialect = "sqlite"
    post_workers = 1

    def _create_engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        writer = create_async_engine(self.url, pool_size=1, max_overflow=0, pool_timeout=60)
        _configure(writer, "BEGIN IMMEDIATE")
        reader = create_async_engine(self.url, pool_size=4, max_overflow=4, pool_timeout=30)
        _configure(reader, "BEGIN")
        return writer, reader

    def _insert(self, table: sa.Table) -> Any:
        return insert(table)

    def _name_contains(self, text: str) -> sa.ColumnElement[bool]:
        return sa.func.instr(queues.c.name, text) > 0

    def _byte_length(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        # length() of TEXT counts characters; of a BLOB, bytes (the text's UTF-8 encoding).
        return sa.func.length(sa.cast(column, sa.LargeBinary), type_=sa.Integer())
