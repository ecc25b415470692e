"""Guarantees 1 and 7 when PostgreSQL itself goes away: a crash (``pg_ctl stop -m immediate``)
under load loses no acknowledged message, writes during the outage get fast 503s, and the
suite serves again once the server is back, without restarting any service.

The server is private to the test: the session's PostgreSQL serves every other test.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.postgres import PostgresServer, start_postgres
from tests.fixtures.suite import SuiteFactory
from tests.guarantees.load import assert_acknowledged_stored, new_client, post_load

pytestmark = pytest.mark.slow

FAST = 2.0


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # the test may have left it stopped
            server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


async def test_postgresql_crash_under_load(
    suite_factory: SuiteFactory, private_postgres: PostgresServer
) -> None:
    suite = suite_factory(
        database_url=private_postgres.create_database("crash"),
        env={"TIDINGS_RPC_TIMEOUT": "3"},
    )
    pids = [service.pid for service in suite.services]
    project, queue = "durable-pg", "orders"
    load = asyncio.create_task(post_load(suite.api_url, project, queue, clients=8, duration=7.0))

    await asyncio.sleep(1.5)
    await asyncio.to_thread(private_postgres.stop)  # immediate: a crash, no checkpoint
    down_at = time.monotonic()
    async with new_client(suite.api_url, project) as http:
        started = time.monotonic()
        response = await http.post(f"/v2/queues/{queue}/messages", json={"messages": [{"body": 0}]})
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["title"] == "Service temporarily unavailable"
    assert elapsed < FAST, f"a write during the outage took {elapsed:.2f} s to fail"

    await asyncio.sleep(1.0)
    await asyncio.to_thread(private_postgres.launch)
    up_at = time.monotonic()
    result = await load

    assert any(at > up_at for at in result.acked_at), (
        f"no post succeeded after PostgreSQL came back: {result.outcomes}"
    )
    await assert_acknowledged_stored(suite.api_url, project, queue, result)
    assert down_at < up_at
    assert [service.pid for service in suite.services] == pids
