"""``tidings-bench`` against the PostgreSQL suite: every phase runs and moves messages."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.fixtures.postgres import PostgresServer
from tests.fixtures.suite import Suite

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
    for phase in PHASES:
        row = re.search(rf"^{re.escape(phase)}\s+(\d+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+(\d+)$",
                        result.stdout, re.MULTILINE)  # fmt: skip
        assert row is not None, f"no row for {phase}:\n{result.stdout}"
        requests_per_s, messages_per_s, errors = map(int, row.groups())
        assert requests_per_s > 0 and messages_per_s > 0 and errors == 0, row.group(0)
    assert re.search(r"claim-then-delete consumes \d+ messages/s", result.stdout)
    assert re.search(r"worst p99: [\d.]+ ms", result.stdout)
