"""``tidings-bench`` against the PostgreSQL suite: every phase runs and moves messages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import psycopg

from tests.fixtures.postgres import PostgresServer, start_postgres
from tests.fixtures.suite import Suite
from tidings.bench.database import describe_database, libpq_url

PHASES = (
    "raw psycopg insert x10",
    "post 1 msg/request",
    "post 10 msgs/request",
    "list 20/page",
    "claim 20 + delete",
)


def test_rest_benchmark_runs_every_phase_without_errors(
    pg_suite: Suite, postgres_server: PostgresServer
) -> None:
    command = [
        sys.executable, "-m", "tidings.bench.cli", "--url", pg_suite.api_url,
        "--database-url", postgres_server.create_database("bench"),
        "--concurrency", "4", "--queues", "2", "--duration", "1", "--max-requests", "200",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database: synchronous_commit on" in result.stdout
    assert re.search(r"WAL segments ready for reuse \d+ x 16MB", result.stdout), result.stdout
    for phase in PHASES:
        row = re.search(rf"^{re.escape(phase)}\s+(\d+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+(\d+)$",
                        result.stdout, re.MULTILINE)  # fmt: skip
        assert row is not None, f"no row for {phase}:\n{result.stdout}"
        requests_per_s, messages_per_s, errors = map(int, row.groups())
        assert requests_per_s > 0 and messages_per_s > 0 and errors == 0, row.group(0)
    assert re.search(r"claim-then-delete consumes \d+ messages/s", result.stdout)
    assert re.search(r"worst p99: [\d.]+ ms", result.stdout)
    assert re.search(r"machine after the run: reference loop [\d.]+M iterations/s", result.stdout)


async def test_ready_wal_segments_are_none_on_a_new_cluster_and_some_after_a_checkpoint() -> None:
    server = start_postgres()  # its own new cluster: the session's has a history
    try:
        url = server.create_database("walstate")
        fresh = await describe_database(url)
        assert fresh.ready_segments == 0 and fresh.creates_wal_files, fresh
        async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
            await conn.execute("CREATE TABLE filler (n integer)")
            for n in range(4):  # four finished segments for the checkpoint to recycle
                await conn.execute("INSERT INTO filler VALUES (%s)", (n,))
                await conn.execute("SELECT pg_switch_wal()")
            await conn.execute("CHECKPOINT")
        recycled = await describe_database(url)
        assert recycled.ready_segments is not None and recycled.ready_segments >= 1, recycled
        assert not recycled.creates_wal_files
        assert f"WAL segments ready for reuse {recycled.ready_segments} x 16MB" in recycled.line
        # Without pg_monitor the files cannot be listed: said, and not taken for "none ready".
        async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
            await conn.execute("CREATE ROLE plain LOGIN")
        unprivileged = await describe_database(url.replace("postgres@", "plain@"))
        assert unprivileged.ready_segments is None and not unprivileged.creates_wal_files
        assert "WAL segments ready for reuse unknown (needs pg_monitor)" in unprivileged.line
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.root, ignore_errors=True)
