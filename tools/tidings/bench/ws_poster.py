"""The poster of the push benchmark: single-message REST posts on a fixed schedule.

It runs in its own process (:func:`post_in_process`) so that the receiving side, 100,000
frames a second in one event loop, cannot delay the posts: the rate stays the one asked for
and a post's timestamp is taken just before it leaves. Timestamps are ``time.monotonic()``,
one clock for every process of the machine (CLOCK_MONOTONIC on Linux), so the receiving
process can subtract them from its own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import orjson

from tidings.bench import event_loop
from tidings.bench.http_client import Connection

POST_CONNECTIONS = 8  # HTTP keep-alive connections the poster may use at once
FINISH_TIMEOUT = 10.0  # seconds the last posts may take after the schedule ends


@dataclass(frozen=True)
class PostPlan:
    url: str
    project: str
    queue: str
    run: str  # marks this run's messages, so listeners ignore anything else
    rate: float  # posts per second
    total: int
    body_bytes: int


@dataclass
class PostLog:
    sent: int = 0
    failed: int = 0
    late: int = 0  # posts that left more than one interval after their scheduled time
    first: float = 0.0  # time.monotonic() of the schedule's start
    last: float = 0.0
    acknowledged: list[int] = field(default_factory=list)  # post numbers answered 201


async def post(plan: PostPlan) -> PostLog:
    """Post ``plan.total`` single messages, post ``i`` at ``start + i / rate``."""
    interval = 1.0 / plan.rate
    headers = {"Client-ID": str(uuid.uuid4()), "X-Project-ID": plan.project}
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(POST_CONNECTIONS):
        idle.put_nowait(Connection(plan.url, headers))
    path = f"/v2/queues/{plan.queue}/messages"
    pad = "x" * plan.body_bytes
    log = PostLog()
    tasks: set[asyncio.Task[None]] = set()

    async def one(number: int, scheduled: float) -> None:
        conn = await idle.get()
        try:
            sent = time.monotonic()
            if sent - scheduled > interval:
                log.late += 1
            body = {"run": plan.run, "i": number, "t": sent, "pad": pad}
            payload = orjson.dumps({"messages": [{"body": body, "ttl": 300}]})
            try:
                response = await conn.request("POST", path, payload)
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                await conn.close()
                log.failed += 1
                return
            if response.status == 201:
                log.acknowledged.append(number)
            else:
                log.failed += 1
        finally:
            idle.put_nowait(conn)

    log.first = time.monotonic()
    for number in range(plan.total):
        scheduled = log.first + number * interval
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(number, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        log.sent += 1
    if tasks:
        await asyncio.wait(tasks, timeout=FINISH_TIMEOUT)
    for task in tasks:
        task.cancel()
    log.last = time.monotonic()
    while not idle.empty():
        await idle.get_nowait().close()
    return log


def post_in_process(plan: PostPlan) -> PostLog:
    """Entry point of the poster's process."""
    return event_loop.run(post(plan))
