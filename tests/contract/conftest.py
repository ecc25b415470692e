"""The storage contract runs unchanged against every driver: SQLite and PostgreSQL.

Each driver gets one migrated database for the session; tests isolate themselves by using a
fresh project id. Tests that look at whole tables (sweeper, outbox) ask for ``fresh_database``.
Time is a manual clock injected into the driver, so ttl and claim expiry are tested by moving
the clock rather than by sleeping.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.postgres import PostgresServer
from tidings.storage.drivers import SqlDriver, create_driver
from tidings.storage.migrate import upgrade
from tidings.storage.settings import StorageSettings

DRIVERS = ["sqlite", "postgresql"]


class ManualClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def migrate(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def new_database(request: pytest.FixtureRequest, kind: str) -> str:
    """A migrated, empty database of the given kind."""
    if kind == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database("contract")
    else:
        directory: Path = request.getfixturevalue("sqlite_dir")
        url = f"sqlite+aiosqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
    await migrate(url)
    return url


@pytest.fixture(scope="session", params=DRIVERS)
def driver_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session")
async def shared_database(request: pytest.FixtureRequest, driver_kind: str) -> str:
    return await new_database(request, driver_kind)


@pytest.fixture
async def fresh_database(request: pytest.FixtureRequest, driver_kind: str) -> str:
    return await new_database(request, driver_kind)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


DriverFactory = Callable[..., Awaitable[SqlDriver]]


@pytest.fixture
async def make_driver(shared_database: str, clock: ManualClock) -> AsyncIterator[DriverFactory]:
    """Open drivers (replicas) on the shared database; ``url=`` picks another database."""
    opened: list[SqlDriver] = []

    async def make(url: str | None = None, **settings: Any) -> SqlDriver:
        config = StorageSettings(message_encryption_key="contract-test-key", **settings)
        driver = create_driver(config, url=url or shared_database, clock=clock)
        await driver.open()
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        await driver.close()


@pytest.fixture
async def driver(make_driver: DriverFactory) -> SqlDriver:
    return await make_driver()


@pytest.fixture
def project() -> str:
    return f"project {uuid.uuid4().hex[:8]}"  # spaces are legal in project ids
