"""Bounded REST load and read-back helpers for the guarantee tests.

Every loop here is bounded twice: by a deadline and by a count, so a stuck or too-fast suite
can never make a test run away.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

REQUEST_TIMEOUT = 15.0  # above the api's RPC timeout: the api answers, httpx does not give up


def headers(project: str, client_id: str | None = None) -> dict[str, str]:
    return {"Client-ID": client_id or uuid.uuid4().hex, "X-Project-ID": project}


def new_client(url: str, project: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers=headers(project), timeout=REQUEST_TIMEOUT)


@dataclass
class PostLoad:
    """What a post load saw: ids acknowledged with 201, and every other outcome by kind."""

    acked: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    acked_at: list[float] = field(default_factory=list)  # monotonic time of each 201


async def post_load(
    url: str,
    project: str,
    queue: str,
    *,
    clients: int = 8,
    duration: float = 5.0,
    max_posts_per_client: int = 400,
    messages_per_post: int = 2,
) -> PostLoad:
    """``clients`` concurrent posters, each posting until the deadline or its count."""
    result = PostLoad()
    deadline = time.monotonic() + duration

    async def poster(number: int) -> None:
        async with new_client(url, project) as http:
            for sequence in range(max_posts_per_client):
                if time.monotonic() > deadline:
                    return
                body = {
                    "messages": [
                        {"body": {"client": number, "post": sequence, "part": part}, "ttl": 3600}
                        for part in range(messages_per_post)
                    ]
                }
                try:
                    response = await http.post(f"/v2/queues/{queue}/messages", json=body)
                except httpx.HTTPError as exc:
                    result.outcomes[type(exc).__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                result.outcomes[str(response.status_code)] += 1
                if response.status_code == 201:
                    resources = response.json()["resources"]
                    result.acked += [href.rsplit("/", 1)[1] for href in resources]
                    result.acked_at.append(time.monotonic())
                else:
                    await asyncio.sleep(0.05)  # a 503: back off a little, as clients do

    await asyncio.gather(*(poster(n) for n in range(clients)))
    return result


async def list_all_ids(url: str, project: str, queue: str, max_pages: int = 2000) -> list[str]:
    """Every message id of the queue, claimed or not, by following the next links."""
    ids: list[str] = []
    async with new_client(url, project) as http:
        path = f"/v2/queues/{queue}/messages?limit=20&echo=true&include_claimed=true"
        for _ in range(max_pages):
            response = await http.get(path)
            assert response.status_code == 200, response.text
            page = response.json()
            if not page["messages"]:
                return ids
            ids += [message["id"] for message in page["messages"]]
            path = page["links"][0]["href"]
    raise AssertionError(f"more than {max_pages} pages in {queue}")


async def assert_acknowledged_stored(
    url: str, project: str, queue: str, load: PostLoad
) -> set[str]:
    """The load got only 201s and 503s (never a 500 or a dropped connection), and every
    acknowledged message is stored, listed exactly once. Returns the stored ids."""
    assert not set(load.outcomes) - {"201", "503"}, load.outcomes
    stored = await list_all_ids(url, project, queue)
    missing = set(load.acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged messages lost"
    assert len(stored) == len(set(stored)), "a message is listed twice"
    return set(stored)
