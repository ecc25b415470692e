"""Guarantee 2: a client paging with ``marker`` sees every message exactly once, in order,
while producers post concurrently through two storage replicas on PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fixtures.suite import Suite
from tests.guarantees.load import list_all_ids, new_client, post_load

pytestmark = pytest.mark.slow


async def test_paging_during_concurrent_posts_sees_each_message_once(pg_suite: Suite) -> None:
    project, queue = "paging", "stream"
    load = asyncio.create_task(
        post_load(pg_suite.api_url, project, queue, clients=6, duration=3.0, messages_per_post=3)
    )
    seen: list[str] = []
    async with new_client(pg_suite.api_url, project) as reader:
        path = f"/v2/queues/{queue}/messages?limit=7&echo=true"
        deadline = time.monotonic() + 30
        # Follow the marker while posts land, then until one empty page after the load ended.
        while time.monotonic() < deadline:
            finished = load.done()
            page = (await reader.get(path)).json()
            seen += [message["id"] for message in page["messages"]]
            if page["messages"]:
                path = page["links"][0]["href"]
            elif finished:
                break
            else:
                await asyncio.sleep(0.05)
    result = await load

    assert result.outcomes["201"] > 20, result.outcomes
    assert len(seen) == len(set(seen)), "a message was seen twice"
    everything = await list_all_ids(pg_suite.api_url, project, queue)
    assert seen == everything  # none skipped, and in the queue's order
    assert set(result.acked) <= set(everything)
