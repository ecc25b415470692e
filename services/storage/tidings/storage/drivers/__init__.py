"""Storage drivers; :func:`create_driver` picks one from the database URL."""

from __future__ import annotations

import time

from sqlalchemy.engine import make_url

from tidings.storage.drivers.base import Clock
from tidings.storage.drivers.postgres import PostgresDriver
from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.drivers.sqlite import SqliteDriver
from tidings.storage.settings import StorageSettings, normalise_database_url


def create_driver(
    settings: StorageSettings, *, url: str | None = None, clock: Clock = time.time
) -> SqlDriver:
    resolved = normalise_database_url(url) if url else settings.resolved_database_url()
    backend = make_url(resolved).get_backend_name()
    if backend == "postgresql":
        return PostgresDriver(resolved, settings, clock=clock)
    if backend == "sqlite":
        return SqliteDriver(resolved, settings, clock=clock)
    raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite:///")


__all__ = ["PostgresDriver", "SqlDriver", "SqliteDriver", "create_driver"]
