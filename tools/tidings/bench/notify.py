"""`tidings-bench-notify`: webhook notifications/s and post-to-delivery latency.

Usage: start the suite with its notifier (``tidings-run``), then
    tidings-bench-notify --url http://127.0.0.1:8888 --subscribers 4 --rate 250 --duration 10
Starts a local webhook receiver, subscribes it ``--subscribers`` times (one path each) to one
queue, then posts one message at a time through REST at ``--rate`` posts/s for ``--duration``
seconds from a process of its own (ws_poster.py), so ``subscribers x rate`` notifications/s
are asked of the notifier. Each message body carries its post number and the poster's clock;
the receiver records the delay until each notification arrived. Prints delivered
notifications/s, latency p50/p99/max, lost and duplicated notifications. Bounded in count
(``--max-posts``) and in time (``--grace`` seconds for the last deliveries). Exit status 1 when
p99 exceeds ``--p99-target`` or a notification is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor

import httpx

from tidings.bench import event_loop
from tidings.bench.machine import describe_machine
from tidings.bench.notify_receiver import Arrivals, start_receiver
from tidings.bench.stats import PhaseResult
from tidings.bench.ws_poster import PostLog, PostPlan, post_in_process


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tidings-bench-notify", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--url", default=os.environ.get("TIDINGS_BENCH_URL", "http://127.0.0.1:8888")
    )
    parser.add_argument("--subscribers", type=int, default=4, help="webhooks on the queue")
    parser.add_argument("--rate", type=float, default=250.0, help="posts per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of posting")
    parser.add_argument("--max-posts", type=int, default=100_000, help="bound on posts")
    parser.add_argument("--body-bytes", type=int, default=100, help="padding in each message")
    parser.add_argument("--grace", type=float, default=15.0, help="seconds to wait for the rest")
    parser.add_argument("--p99-target", type=float, default=200.0, help="milliseconds")
    args = parser.parse_args(argv)
    if args.subscribers < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--subscribers, --rate and --duration must be positive")
    return args


async def _subscribe(url: str, project: str, queue: str, hooks: list[str]) -> None:
    headers = {"Client-ID": str(uuid.uuid4()), "X-Project-ID": project}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        for hook in hooks:
            response = await http.post(
                f"/v2/queues/{queue}/subscriptions", json={"subscriber": hook, "ttl": 3600}
            )
            if response.status_code != 201:
                raise SystemExit(f"subscribing failed: {response.status_code} {response.text}")


async def _run(args: argparse.Namespace) -> int:
    run = uuid.uuid4().hex[:12]
    project, queue = f"bench-notify-{run}", "notified"
    arrivals = Arrivals(run)
    server = await start_receiver(arrivals)
    port = server.sockets[0].getsockname()[1]
    hooks = [f"http://127.0.0.1:{port}/s{n}" for n in range(args.subscribers)]
    await _subscribe(args.url, project, queue, hooks)
    await asyncio.sleep(0.5)  # let notifiers see the subscriptions (their events) first
    total = min(args.max_posts, int(args.rate * args.duration))
    plan = PostPlan(args.url, project, queue, run, args.rate, total, args.body_bytes)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        log: PostLog = await loop.run_in_executor(pool, post_in_process, plan)
    arrivals.expect(len(log.acknowledged) * args.subscribers)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(arrivals.complete.wait(), args.grace)
    server.close()
    elapsed = (arrivals.last or time.monotonic()) - started
    delivered = len(arrivals.latencies)
    acknowledged = set(log.acknowledged)
    lost = sum(
        len(acknowledged - arrivals.by_path.get(f"/s{n}", set())) for n in range(args.subscribers)
    )
    result = PhaseResult("notify", seconds=elapsed, latencies=arrivals.latencies)
    print(describe_machine())
    print(
        f"posts: {log.sent} sent, {len(log.acknowledged)} acknowledged, {log.failed} failed, "
        f"{log.late} late; subscribers: {args.subscribers}; asked "
        f"{args.rate * args.subscribers:.0f} notifications/s"
    )
    print(
        f"delivered {delivered} notifications in {elapsed:.2f} s = "
        f"{delivered / elapsed if elapsed else 0:.0f} notifications/s"
    )
    print(
        f"post-to-delivery latency ms: p50 {result.percentile(0.5) * 1000:.1f}  "
        f"p99 {result.percentile(0.99) * 1000:.1f}  "
        f"max {max(arrivals.latencies, default=float('nan')) * 1000:.1f}"
    )
    print(f"lost {lost}, duplicates {arrivals.duplicates}, foreign {arrivals.foreign}")
    p99_ms = result.percentile(0.99) * 1000
    return 0 if lost == 0 and delivered and p99_ms <= args.p99_target else 1


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    sys.exit(event_loop.run(_run(args)))


if __name__ == "__main__":
    main()
