"""The raw PostgreSQL ceiling: the same message inserts done directly with psycopg, batched.

It gives the number the suite's post figure is read against: how many ~256-byte messages a
second this database accepts in durable transactions of ten rows from the same number of
concurrent clients, with no API, broker or service in between.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import psycopg

from tidings.bench.database import libpq_url
from tidings.bench.stats import PhaseResult
from tidings.bench.workloads import MESSAGE_BODY

TABLE = "tidings_bench_raw_messages"


async def measure(
    database_url: str, concurrency: int, duration: float, batch: int, max_transactions: int
) -> PhaseResult:
    conninfo = libpq_url(database_url)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        await admin.execute(f"DROP TABLE IF EXISTS {TABLE}")
        await admin.execute(
            f"CREATE TABLE {TABLE} (id text PRIMARY KEY, project text, queue text, seq bigint, "
            "body jsonb, ttl integer, created double precision, expires double precision)"
        )
    body = json.dumps(MESSAGE_BODY)
    result = PhaseResult(f"raw psycopg insert x{batch}")
    deadline = time.perf_counter() + duration
    budget = [max_transactions]

    async def client(index: int) -> None:
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            seq = 0
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                started = time.perf_counter()
                now = time.time()
                rows = []
                for _ in range(batch):
                    seq += 1
                    rows.append(
                        (uuid.uuid4().hex, "bench", f"q{index}", seq, body, 3600, now, now + 3600)
                    )
                async with conn.cursor() as cur:
                    await cur.executemany(
                        f"INSERT INTO {TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows
                    )
                await conn.commit()
                result.latencies.append(time.perf_counter() - started)
                result.requests += 1
                result.messages += batch

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    result.seconds = time.perf_counter() - began
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        await admin.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return result
