"""Migrations: concurrent starts are safe, the CLI used by the Kubernetes Job works, and they
build the schema the code declares."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.postgres import PostgresServer
from tidings.storage.migrate import upgrade
from tidings.storage.tables import metadata

ROOT = Path(__file__).resolve().parents[2]


async def tables_and_revision(url: str) -> tuple[set[str], str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
            revision = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    return names, str(revision)


async def test_replicas_migrating_at_once_on_postgresql(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("migrate")
    engines = [create_async_engine(url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    names, revision = await tables_and_revision(url)
    assert set(metadata.tables) | {"alembic_version"} == names
    assert revision == "0008"
    # The tables that churn like a queue are vacuumed long before PostgreSQL's default fifth.
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT relname, reloptions FROM pg_class"
                    " WHERE relname IN ('messages', 'claims', 'outbox')"
                )
            )
            options = {row.relname: set(row.reloptions or ()) for row in rows}
    finally:
        await engine.dispose()
    assert "autovacuum_vacuum_scale_factor=0.02" in options["messages"]
    assert "autovacuum_vacuum_scale_factor=0.02" in options["claims"]
    assert {"autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=1000"} <= options[
        "outbox"
    ]


async def test_one_process_migrating_two_databases_at_once(
    postgres_server: PostgresServer,
) -> None:
    """Pools: a storage replica may migrate a new pool while its refresh task migrates another.
    Alembic keeps its migration context in module globals, and advisory locks are per
    database: without the process's own lock the two upgrades overwrite each other's context."""
    urls = [postgres_server.create_database(name) for name in ("twin_a", "twin_b", "twin_c")]
    engines = [create_async_engine(url) for url in urls]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    for url in urls:
        names, revision = await tables_and_revision(url)
        assert set(metadata.tables) | {"alembic_version"} == names and revision == "0008"


def test_cli_upgrades_the_configured_database(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    environment = {**os.environ, "TIDINGS_DATABASE_URL": f"sqlite:///{database}"}
    result = subprocess.run(
        [sys.executable, "-m", "tidings.storage.migrate"],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names, revision = asyncio.run(tables_and_revision(f"sqlite+aiosqlite:///{database}"))
    assert set(metadata.tables) <= names and revision == "0008"


def empty_database(dialect: str, name: str, postgres_server: PostgresServer, tmp_path: Path) -> str:
    """The URL of a new empty database of the dialect."""
    if dialect == "postgresql":
        return postgres_server.create_database(name)
    return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"


def schema_differences(sync_conn: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_server_default": False})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
async def test_migrations_build_exactly_the_tables_module(
    dialect: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """``tables.py`` says what the queries may rely on (indexes included); the migrations are
    what databases really get. Alembic's comparison lists every table, column and index on
    which they differ."""
    engine = create_async_engine(empty_database(dialect, "drift", postgres_server, tmp_path))
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(schema_differences)
    finally:
        await engine.dispose()
    assert differences == []


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
async def test_claims_made_before_0008_get_their_message_ids(
    dialect: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """0008 drops the claim id index, so a claim finds its messages through the ids it keeps:
    the claims already live get theirs from the index before it goes ('' for a claim whose
    messages are gone, as for a new one; NULL stays for claims written later by replicas
    still on 0007, which storage then finds by queue)."""
    engine = create_async_engine(empty_database(dialect, "backfill", postgres_server, tmp_path))
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO queues (id, project, name, metadata, created, last_seq) "
                    "VALUES (1, 'p', 'q', '{}', 0, 3)"
                )
            )
            for seq, claim in ((1, "c1"), (2, "c1"), (3, None)):
                await conn.execute(
                    sa.text(
                        "INSERT INTO messages (id, queue_id, seq, body, encrypted, client_id, "
                        "ttl, created, expires, visible_at, claim_id, claim_expires, "
                        "claim_count) VALUES (:id, 1, :seq, '1', false, 'c', 60, 0, 60, 0, "
                        ":claim, 30, 0)"
                    ),
                    {"id": f"m{seq}", "seq": seq, "claim": claim},
                )
            for claim in ("c1", "c2"):
                await conn.execute(
                    sa.text(
                        "INSERT INTO claims (id, queue_id, ttl, grace, updated, expires) "
                        "VALUES (:id, 1, 30, 60, 0, 30)"
                    ),
                    {"id": claim},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT id, message_ids FROM claims"))
            rows: dict[str, str | None] = {r.id: r.message_ids for r in result}
            indexes = await conn.run_sync(
                lambda sync: {i["name"] for i in sa.inspect(sync).get_indexes("messages")}
            )
    finally:
        await engine.dispose()
    assert sorted((rows["c1"] or "").split(",")) == ["m1", "m2"]
    assert rows["c2"] == ""
    assert "ix_messages_claimed" not in indexes
