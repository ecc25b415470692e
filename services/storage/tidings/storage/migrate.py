"""Schema migrations: ``upgrade`` for the service start, and a CLI for a Kubernetes Job.

``python -m tidings.storage.migrate [revision]`` upgrades the database of
``TIDINGS_DATABASE_URL`` to ``revision`` (default ``head``). Replicas starting together are
safe: on PostgreSQL the upgrade runs under a transaction-scoped advisory lock (and DDL is
transactional), on SQLite under the database write lock taken by BEGIN IMMEDIATE; within one
process, upgrades (of different pool databases) run one after the other.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tidings.common.logging import configure_logging
from tidings.storage.settings import StorageSettings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed 64-bit number shared by every replica: "tidings" in ASCII.
ADVISORY_LOCK_KEY = 0x74696469_6E6773


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_sync(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


# Alembic keeps the running migration's context in module globals (``alembic.context``,
# ``alembic.op``), and advisory locks only order upgrades of the same database: a replica that
# migrates a pool added by a request while its refresh task migrates another would have the
# two overwrite each other's context. One upgrade at a time per event loop, then.
_UPGRADE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _upgrade_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _UPGRADE_LOCKS.get(loop)
    if lock is None:
        lock = _UPGRADE_LOCKS[loop] = asyncio.Lock()
    return lock


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with _upgrade_lock(), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        await conn.run_sync(_upgrade_sync, revision)
    log.info("database schema at %s", revision)


async def _main(revision: str) -> None:
    settings = StorageSettings()
    configure_logging("storage-migrate", settings.log_format, settings.log_level)
    url = settings.resolved_database_url()
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    try:
        await upgrade(engine, revision)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    asyncio.run(_main(args[0] if args else "head"))


if __name__ == "__main__":
    main()
