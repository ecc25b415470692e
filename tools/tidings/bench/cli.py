"""`tidings-bench`: drive a running suite over HTTP and print requests/s, messages/s, p50, p99.

Usage: start the suite (on PostgreSQL for meaningful figures), then
    tidings-bench --url http://127.0.0.1:8888 --database-url postgresql://user@127.0.0.1/db
The database URL is only used for the raw psycopg ceiling; without it that line is skipped.
Every phase is bounded by --duration seconds and by --max-requests requests.
"""

from __future__ import annotations

import argparse
import os
import uuid

from tidings.bench import event_loop, raw_postgres
from tidings.bench.database import describe_database
from tidings.bench.machine import describe_machine, python_speed
from tidings.bench.stats import HEADER, PhaseResult
from tidings.bench.workloads import (
    Target,
    claim_delete_step,
    list_step,
    post_step,
    run_phase,
)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tidings-bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("TIDINGS_BENCH_URL", "http://127.0.0.1:8888")
    )
    parser.add_argument("--database-url", default=os.environ.get("TIDINGS_DATABASE_URL", ""))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--queues", type=int, default=4, help="queues the clients spread over")
    parser.add_argument("--max-requests", type=int, default=500_000, help="bound per phase")
    parser.add_argument("--claim-limit", type=int, default=20)
    parser.add_argument("--list-limit", type=int, default=20)
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:8]
    print(f"machine: {describe_machine()}")
    print(f"target: {args.url}, {args.concurrency} concurrent clients, {args.duration:.0f} s/phase")
    results: list[PhaseResult] = []
    raw: PhaseResult | None = None
    if args.database_url.startswith("postgresql"):
        database = await describe_database(args.database_url)
        print(f"database: {database.line}")
        if database.creates_wal_files:
            print(
                "note: no WAL segment files are ready for reuse (a new cluster, or one waiting "
                "for a checkpoint): PostgreSQL will create each as the last fills, pausing every "
                "commit, which shows in the p99 (docs/benchmarks/rest.md)"
            )
        raw = await raw_postgres.measure(
            args.database_url, args.concurrency, args.duration, 10, args.max_requests
        )
        results.append(raw)

    def target(kind: str) -> Target:
        return Target(
            url=args.url,
            project=f"bench-{run}",
            queues=[f"{kind}-{i}" for i in range(args.queues)],
            concurrency=args.concurrency,
            duration=args.duration,
            max_requests=args.max_requests,
        )

    post1 = await run_phase(target("q"), "post 1 msg/request", post_step(target("q"), 1))
    post10 = await run_phase(target("q"), "post 10 msgs/request", post_step(target("q"), 10))
    listing = await run_phase(
        target("q"), f"list {args.list_limit}/page", list_step(target("q"), args.list_limit)
    )
    consume = await run_phase(
        target("q"),
        f"claim {args.claim_limit} + delete",
        claim_delete_step(target("q"), args.claim_limit),
    )
    results += [post1, post10, listing, consume]
    print()
    print(HEADER)
    for result in results:
        print(result.row())
    print()
    if raw is not None and raw.seconds and post10.seconds:
        share = (post10.messages / post10.seconds) / (raw.messages / raw.seconds)
        print(f"post x10 reaches {share:.0%} of the raw PostgreSQL insert ceiling (target 25%)")
    if consume.seconds:
        print(f"claim-then-delete consumes {consume.messages / consume.seconds:.0f} messages/s "
              "(target 6,000)")  # fmt: skip
    worst = max((post1, post10, listing, consume), key=lambda r: r.percentile(0.99))
    print(f"worst p99: {worst.percentile(0.99) * 1000:.1f} ms ({worst.name}; target < 25 ms)")
    # Timed again at the end: a shared host can slow down in the middle of a run.
    print(f"machine after the run: reference loop {python_speed():.1f}M iterations/s")


def main(argv: list[str] | None = None) -> None:
    event_loop.run(_run(_parse_args(argv)))


if __name__ == "__main__":
    main()
