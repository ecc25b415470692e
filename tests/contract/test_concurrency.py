"""Concurrency: marker paging under concurrent posts, and exclusive claims across replicas."""

from __future__ import annotations

import asyncio

from tests.contract.conftest import DriverFactory
from tests.contract.helpers import ME, claim, post
from tidings.common import schemas as s
from tidings.storage import metrics

POSTERS = 16
POSTS_EACH = 8
MESSAGES_PER_POST = 3


def batch_totals() -> tuple[float, float]:
    """(requests, transactions) seen by the group-commit batch size histogram so far."""
    samples = {
        sample.name: sample.value
        for family in metrics.GROUP_COMMIT_BATCH.collect()
        for sample in family.samples
    }
    name = "tidings_storage_group_commit_batch_size"
    return samples[f"{name}_sum"], samples[f"{name}_count"]


async def test_paging_during_concurrent_posts_sees_every_message_once_in_order(
    make_driver: DriverFactory, project: str
) -> None:
    writer = await make_driver()
    reader = await make_driver()  # another replica
    requests_before, batches_before = batch_totals()
    posted: list[list[str]] = []
    done = asyncio.Event()

    async def poster(n: int) -> None:
        for i in range(POSTS_EACH):
            posted.append(await post(writer, project, "q", [f"{n}-{i}-{k}" for k in range(3)]))

    async def page_reader() -> list[tuple[int, str]]:
        seen: list[tuple[int, str]] = []
        marker: str | None = None
        for _ in range(10_000):
            finished = done.is_set()
            reply = await reader.message_list(
                s.MessageListRequest(
                    project=project, queue="q", client_id=ME, marker=marker, limit=7
                )
            )
            if reply.messages:
                assert reply.marker is not None
                seen.extend((int(reply.marker), m.id) for m in reply.messages)
                marker = reply.marker
            elif finished:
                return seen
            else:
                await asyncio.sleep(0)
        raise AssertionError("reader did not finish")

    async def posters() -> None:
        await asyncio.gather(*(poster(n) for n in range(POSTERS)))
        done.set()

    seen, _ = await asyncio.wait_for(asyncio.gather(page_reader(), posters()), 60)
    seen_ids = [message_id for _, message_id in seen]
    assert len(seen_ids) == len(set(seen_ids)) == POSTERS * POSTS_EACH * MESSAGES_PER_POST
    assert set(seen_ids) == {i for batch in posted for i in batch}
    # Each request's messages are consecutive in the queue's order (the batch order is kept).
    position = {message_id: index for index, message_id in enumerate(seen_ids)}
    for batch in posted:
        first = position[batch[0]]
        assert [position[i] for i in batch] == list(range(first, first + MESSAGES_PER_POST))
    # Concurrent posts were gathered into shared transactions.
    requests_after, batches_after = batch_totals()
    assert requests_after - requests_before == POSTERS * POSTS_EACH
    assert batches_after - batches_before < POSTERS * POSTS_EACH


async def test_concurrent_claimers_on_two_replicas_never_share_a_message(
    make_driver: DriverFactory, project: str
) -> None:
    replicas = [await make_driver(), await make_driver()]
    posted: list[str] = []
    for _ in range(10):
        posted += await post(replicas[0], project, "q", list(range(20)))
    taken: list[str] = []

    async def claimer(n: int) -> None:
        replica = replicas[n % 2]
        for _ in range(200):
            reply = await claim(replica, project, "q", ttl=600, limit=5)
            if reply.claim_id is None:
                return
            taken.extend(m.id for m in reply.messages)

    await asyncio.wait_for(asyncio.gather(*(claimer(n) for n in range(12))), 60)
    assert len(taken) == len(set(taken)) == len(posted)
    assert set(taken) == set(posted)


async def test_concurrent_posts_across_queues_all_commit(
    make_driver: DriverFactory, project: str
) -> None:
    """Batches holding several queues lock them in one order: no deadlock, nothing lost."""
    replicas = [await make_driver(), await make_driver()]
    queues = ["a", "b", "c", "d"]

    async def poster(n: int) -> list[str]:
        ids: list[str] = []
        for i in range(6):
            queue = queues[(n + i) % len(queues)] if n % 2 else queues[-1 - (n + i) % 4]
            ids += await post(replicas[n % 2], project, queue, [n, i])
        return ids

    results = await asyncio.wait_for(asyncio.gather(*(poster(n) for n in range(16))), 60)
    total = 0
    for queue in queues:
        stats = await replicas[0].queue_stats(s.QueueScoped(project=project, queue=queue))
        total += stats.total
    assert total == sum(len(ids) for ids in results) == 16 * 6 * 2
