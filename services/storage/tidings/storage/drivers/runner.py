"""Running statements inside one transaction, whatever executes them.

The group commit of posts runs a few statements in one transaction. On SQLite that is an
SQLAlchemy connection; on PostgreSQL psycopg runs them directly in pipeline mode (see
:mod:`tidings.storage.drivers.pg_executor`). Both look like this to the code that posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


class StatementRunner(Protocol):
    async def fetch(self, statement: sa.Executable, params: dict[str, Any]) -> Sequence[Any]:
        """The rows the statement returns."""
        ...

    async def fetch_each(
        self, statement: sa.Executable, params: list[dict[str, Any]]
    ) -> list[Sequence[Any]]:
        """The rows of the statement run once per set of parameters, in order; a pipelining
        runner sends them all before it waits for the first result (one round trip)."""
        ...

    async def execute(self, statement: sa.Executable, params: dict[str, Any]) -> int:
        """How many rows the statement affected."""
        ...

    async def send(self, statement: sa.Executable, params: dict[str, Any]) -> None:
        """Run the statement without waiting for its outcome where the runner can (a pipeline
        sends it with the next statement); a failure surfaces by the commit at the latest."""
        ...

    async def executemany(self, statement: sa.Executable, rows: list[dict[str, Any]]) -> None:
        """The statement once per row of parameters."""
        ...

    async def insert_rows(
        self, statement: sa.Executable, table: sa.Table, rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows into ``table``: ``statement`` is its INSERT with one ``p_<column>``
        parameter per key of the rows. The last statement of a transaction: a runner may
        insert them another way (COPY) that leaves no room for statements after it."""
        ...


class SqlAlchemyRunner:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def fetch(self, statement: sa.Executable, params: dict[str, Any]) -> Sequence[Any]:
        return (await self._conn.execute(statement, params)).all()

    async def fetch_each(
        self, statement: sa.Executable, params: list[dict[str, Any]]
    ) -> list[Sequence[Any]]:
        return [(await self._conn.execute(statement, each)).all() for each in params]

    async def execute(self, statement: sa.Executable, params: dict[str, Any]) -> int:
        return (await self._conn.execute(statement, params)).rowcount

    async def send(self, statement: sa.Executable, params: dict[str, Any]) -> None:
        await self._conn.execute(statement, params)

    async def executemany(self, statement: sa.Executable, rows: list[dict[str, Any]]) -> None:
        await self._conn.execute(statement, rows)

    async def insert_rows(
        self, statement: sa.Executable, table: sa.Table, rows: list[dict[str, Any]]
    ) -> None:
        await self._conn.execute(statement, rows)
