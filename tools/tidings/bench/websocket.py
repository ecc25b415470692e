"""`tidings-bench-ws`: post-to-frame latency of live pushes to many subscribed sockets.

Usage: start the suite, then
    tidings-bench-ws --url http://127.0.0.1:8888 --ws-url ws://127.0.0.1:9000 \\
        --sockets 1000 --rate 100 --duration 10
Opens ``--sockets`` sockets (spread round-robin over every ``--ws-url``, e.g. two replicas),
subscribes each to one queue with ``subscription_create`` without a subscriber, then posts one
message at a time through REST at ``--rate`` posts/s for ``--duration`` seconds (from a
process of its own, so receiving cannot delay posting; see ws_poster.py). Each message
body carries the post number and the poster's clock at sending; each socket records the delay
until its notification frame arrived. Prints latency p50/p99/max, frames/s and lost,
duplicated and out-of-order frames. Bounded in count (``--duration`` x ``--rate`` posts, at most
``--max-posts``) and in time (connect timeout, ``--grace`` seconds for the last frames). Exit
status 1 when p99 exceeds ``--p99-target`` or a frame is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor

from tidings.bench import event_loop
from tidings.bench.machine import describe_machine
from tidings.bench.stats import PhaseResult
from tidings.bench.ws_listener import ListenerProtocol, open_listener
from tidings.bench.ws_poster import PostLog, PostPlan, post_in_process

CONNECT_BATCH = 50  # sockets opened at once: the server sees a burst, not a stampede
CONNECT_TIMEOUT = 10.0  # seconds per socket for handshake + subscription_create
FD_HEADROOM = 64  # files besides the sockets (HTTP connections, stdio, the loop)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tidings-bench-ws", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--url", default=os.environ.get("TIDINGS_BENCH_URL", "http://127.0.0.1:8888")
    )
    parser.add_argument(
        "--ws-url",
        action="append",
        help="websocket replica to connect to (repeat for several; default ws://127.0.0.1:9000)",
    )
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="posts per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of posting")
    parser.add_argument("--max-posts", type=int, default=100_000, help="bound on posts")
    parser.add_argument("--body-bytes", type=int, default=100, help="padding in each message")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument("--p99-target", type=float, default=100.0, help="milliseconds")
    parser.add_argument(
        "--cpu-pid",
        type=int,
        action="append",
        default=[],
        help="a local process (e.g. the websocket replica) whose CPU time during the posting "
        "phase to print, also per frame received; repeat for several",
    )
    args = parser.parse_args(argv)
    args.ws_url = args.ws_url or ["ws://127.0.0.1:9000"]
    if args.sockets < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--sockets, --rate and --duration must be positive")
    return args


def _raise_fd_limit(sockets: int) -> None:
    """Each socket is a file descriptor; lift the soft limit towards the hard one if needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = sockets + FD_HEADROOM
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
        if ceiling < wanted:
            raise SystemExit(f"the fd limit ({hard}) is too low for {sockets} sockets")


async def _open_sockets(
    urls: list[str], count: int, run: str, project: str, queue: str
) -> list[ListenerProtocol]:
    listeners: list[ListenerProtocol] = []

    async def one(index: int) -> ListenerProtocol:
        listener = await open_listener(urls[index % len(urls)], run, CONNECT_TIMEOUT)
        try:
            await listener.subscribe(project, queue, CONNECT_TIMEOUT)
        except BaseException:
            listener.close()
            raise
        return listener

    try:
        for start in range(0, count, CONNECT_BATCH):
            batch = range(start, min(count, start + CONNECT_BATCH))
            listeners += await asyncio.gather(*(one(i) for i in batch))
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners


async def _post_elsewhere(plan: PostPlan) -> PostLog:
    """Run the poster in a process of its own (spawned: this one has a running loop)."""
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return await loop.run_in_executor(pool, post_in_process, plan)


async def _await_stragglers(listeners: list[ListenerProtocol], expected: int, grace: float) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if sum(len(lst.received.seen) for lst in listeners) >= expected:
            return
        await asyncio.sleep(0.05)


async def _run(args: argparse.Namespace) -> int:
    _raise_fd_limit(args.sockets)
    run = uuid.uuid4().hex[:8]
    project, queue = f"bench-{run}", f"ws-{run}"
    print(f"machine: {describe_machine()}")
    print(
        f"target: {args.url} (posts), {', '.join(args.ws_url)} (sockets); {args.sockets} "
        f"sockets, {args.rate:g} posts/s for {args.duration:g} s"
    )
    began = time.perf_counter()
    listeners = await _open_sockets(args.ws_url, args.sockets, run, project, queue)
    print(f"subscribed {len(listeners)} sockets in {time.perf_counter() - began:.1f} s")
    try:
        cpu_before = {pid: _cpu_seconds(pid) for pid in args.cpu_pid}
        own_before = time.process_time()
        log = await _post_elsewhere(
            PostPlan(
                url=args.url,
                project=project,
                queue=queue,
                run=run,
                rate=args.rate,
                total=min(int(args.rate * args.duration), args.max_posts),
                body_bytes=args.body_bytes,
            )
        )
        acknowledged = set(log.acknowledged)
        expected = len(acknowledged) * len(listeners)
        await _await_stragglers(listeners, expected, args.grace)
        cpu = {pid: _cpu_seconds(pid) - before for pid, before in cpu_before.items()}
        own = time.process_time() - own_before
        closed_early = sum(listener.closed.done() for listener in listeners)
    finally:
        for listener in listeners:
            listener.close()
    status = _report(args, listeners, log, acknowledged, expected, closed_early)
    frames = max(1, sum(len(listener.received.seen) for listener in listeners))
    print(f"cpu of the receiving process: {own:.2f} s, {own / frames * 1e6:.1f} us per frame")
    for pid, seconds in cpu.items():
        print(f"cpu of pid {pid}: {seconds:.2f} s, {seconds / frames * 1e6:.1f} us per frame")
    return status


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a local process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report(
    args: argparse.Namespace,
    listeners: list[ListenerProtocol],
    log: PostLog,
    acknowledged: set[int],
    expected: int,
    closed_early: int,
) -> int:
    latencies = PhaseResult("push")
    received = duplicates = out_of_order = unacknowledged = 0
    last_frame = log.first
    for listener in listeners:
        got = listener.received
        latencies.latencies.extend(got.latencies)
        received += len(got.seen & acknowledged)
        unacknowledged += len(got.seen - acknowledged)
        duplicates += got.duplicates
        out_of_order += got.out_of_order
        last_frame = max(last_frame, got.last_at)
    lost = expected - received
    seconds = max(last_frame - log.first, 1e-9)
    posting = max(log.last - log.first, log.sent / args.rate)
    p50, p99 = latencies.percentile(0.5) * 1000, latencies.percentile(0.99) * 1000
    worst = max(latencies.latencies, default=float("nan")) * 1000
    print(
        f"posts: {log.sent} sent, {len(acknowledged)} acknowledged, {log.failed} failed, "
        f"{log.late} late; {log.sent / posting:.1f} posts/s"
    )
    print(
        f"frames: {expected} expected, {received} received, {lost} lost, {duplicates} "
        f"duplicated, {out_of_order} out of marker order, {unacknowledged} of unacknowledged "
        f"posts; {closed_early} sockets closed early"
    )
    print(f"post-to-frame latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms")
    print(f"frames/s: {received / seconds:.0f}")
    met = lost == 0 and p99 < args.p99_target and log.failed == 0
    print(f"target p99 < {args.p99_target:g} ms and no lost frame: {'met' if met else 'MISSED'}")
    return 0 if met else 1


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(event_loop.run(_run(args)))
    sys.exit(130)


if __name__ == "__main__":
    main()
