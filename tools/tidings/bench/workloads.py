"""The benchmark phases that drive the REST API: post, list, claim-then-delete."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tidings.bench.http_client import Connection
from tidings.bench.stats import PhaseResult

# ~256 bytes once serialised with its envelope, like a small application event.
MESSAGE_BODY = {"event": "bench.sample", "payload": "x" * 200, "seq": 0}

# A worker step performs one request (or one claim+delete pair) and returns
# (requests made, messages moved); it times each request it makes with ``timed``.
Step = Callable[[Connection, int], Awaitable[tuple[int, int]]]


@dataclass
class Target:
    url: str
    project: str
    queues: list[str]
    concurrency: int
    duration: float
    max_requests: int  # a hard bound on requests per phase, whatever the duration

    def headers(self) -> dict[str, str]:
        return {
            "Client-ID": str(uuid.uuid4()),
            "X-Project-ID": self.project,
            "Accept": "application/json",
        }

    def queue_for(self, worker: int) -> str:
        return self.queues[worker % len(self.queues)]


async def run_phase(target: Target, name: str, make_step: Callable[[int], Step]) -> PhaseResult:
    result = PhaseResult(name)
    deadline = time.perf_counter() + target.duration
    budget = [target.max_requests]
    stop = asyncio.Event()

    async def worker(index: int) -> None:
        conn = Connection(target.url, target.headers(), result.latencies)
        step = make_step(index)
        try:
            while not stop.is_set() and time.perf_counter() < deadline and budget[0] > 0:
                try:
                    requests, messages = await step(conn, index)
                except (ConnectionError, OSError, asyncio.IncompleteReadError, RuntimeError):
                    result.errors += 1
                    await conn.close()
                    continue
                if requests == 0:  # nothing left to do for this phase
                    stop.set()
                    break
                result.requests += requests
                result.messages += messages
                budget[0] -= requests
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(target.concurrency)))
    result.seconds = time.perf_counter() - began
    return result


def post_step(target: Target, batch: int) -> Callable[[int], Step]:
    payload = json.dumps(
        {"messages": [{"body": MESSAGE_BODY, "ttl": 3600} for _ in range(batch)]}
    ).encode()

    def make(index: int) -> Step:
        path = f"/v2/queues/{target.queue_for(index)}/messages"

        async def step(conn: Connection, _: int) -> tuple[int, int]:
            response = await conn.request("POST", path, payload)
            if response.status != 201:
                raise RuntimeError(f"post answered {response.status}: {response.body[:200]!r}")
            return 1, batch

        return step

    return make


def list_step(target: Target, limit: int) -> Callable[[int], Step]:
    def make(index: int) -> Step:
        base = f"/v2/queues/{target.queue_for(index)}/messages?limit={limit}&echo=true"
        marker: list[str | None] = [None]

        async def step(conn: Connection, _: int) -> tuple[int, int]:
            path = base if marker[0] is None else f"{base}&marker={marker[0]}"
            response = await conn.request("GET", path)
            if response.status != 200:
                raise RuntimeError(f"list answered {response.status}")
            page = json.loads(response.body)
            messages = page["messages"]
            # Page through the queue, then start again from its head.
            marker[0] = (
                page["links"][0]["href"].rsplit("marker=", 1)[1].split("&")[0]
                if (messages)
                else None
            )
            return 1, len(messages)

        return step

    return make


def claim_delete_step(target: Target, limit: int) -> Callable[[int], Step]:
    claim_body = json.dumps({"ttl": 300, "grace": 60}).encode()

    def make(index: int) -> Step:
        queues = [target.queue_for(index + k) for k in range(len(target.queues))]
        empty: set[str] = set()

        async def step(conn: Connection, _: int) -> tuple[int, int]:
            for queue in queues:
                if queue in empty:
                    continue
                claimed = await conn.request(
                    "POST", f"/v2/queues/{queue}/claims?limit={limit}", claim_body
                )
                if claimed.status == 204:
                    empty.add(queue)
                    continue
                if claimed.status != 201:
                    raise RuntimeError(f"claim answered {claimed.status}")
                messages = json.loads(claimed.body)["messages"]
                ids = ",".join(m["href"].split("/")[-1].split("?")[0] for m in messages)
                deleted = await conn.request("DELETE", f"/v2/queues/{queue}/messages?ids={ids}")
                if deleted.status != 204:
                    raise RuntimeError(f"delete answered {deleted.status}")
                return 2, len(messages)
            return 0, 0

        return step

    return make
