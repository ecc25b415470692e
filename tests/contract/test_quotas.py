"""Per-project quotas: queues, live messages and bytes, enforced in the writing transaction.

Limits come from the settings each driver is opened with; the clock is manual, so the recount
interval and message expiry are passed by moving it.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import sqlalchemy as sa

from tests.contract.conftest import DriverFactory, ManualClock
from tests.contract.helpers import ME, list_all, post
from tidings.common import schemas as s
from tidings.common.errors import QuotaExceeded
from tidings.storage import metrics
from tidings.storage.drivers import SqlDriver
from tidings.storage.tables import project_usage


def rejections(kind: str) -> float:
    for family in metrics.QUOTA_REJECTIONS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == {"kind": kind}:
                return sample.value
    return 0.0


async def delete(driver: SqlDriver, project: str, queue: str, ids: list[str]) -> None:
    await driver.message_delete_many(
        s.MessageDeleteManyRequest(project=project, queue=queue, message_ids=ids)
    )


async def usage_rows(driver: SqlDriver, project: str) -> list[tuple[int, int]]:
    async with driver.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(project_usage.c.messages, project_usage.c.bytes).where(
                project_usage.c.project == project
            )
        )
        return [(int(r.messages), int(r.bytes)) for r in rows]


async def test_message_quota_refuses_the_post_that_would_go_over(
    make_driver: DriverFactory, project: str
) -> None:
    driver = await make_driver(quota_messages=5, quota_recount_interval=3)
    before = rejections("messages")
    await post(driver, project, "q", [1, 2, 3])
    with pytest.raises(QuotaExceeded) as refused:
        await post(driver, project, "q", [4, 5, 6])
    assert refused.value.title == "Quota exceeded: messages"
    assert "at most 5 messages" in str(refused.value.description)
    assert refused.value.retry_after == 3  # one recount interval
    assert rejections("messages") == before + 1
    await post(driver, project, "q", [4, 5])  # exactly up to the limit is fine
    with pytest.raises(QuotaExceeded):
        await post(driver, project, "other queue", [6])  # the quota is per project
    stored = await list_all(driver, project, "q")
    assert [m.body for m in stored] == [1, 2, 3, 4, 5]  # refused posts left no trace
    assert [m.id for m in stored] == [m.id for m in await list_all(driver, project, "q", page=2)]


async def test_refused_posts_leave_no_gap_in_the_sequence(
    make_driver: DriverFactory, project: str
) -> None:
    driver = await make_driver(quota_messages=2)
    await post(driver, project, "q", ["a"])
    # One batch: the middle post is refused, the others get consecutive sequence numbers.
    results = await asyncio.gather(
        post(driver, project, "q", ["b", "c"]),
        post(driver, project, "q", ["d"]),
        return_exceptions=True,
    )
    assert sum(isinstance(r, QuotaExceeded) for r in results) == 1
    reply = await driver.message_list(
        s.MessageListRequest(project=project, queue="q", client_id=ME, limit=10)
    )
    markers = [int(m) for m in reply.markers or []]
    assert markers == list(range(markers[0], markers[0] + len(markers)))


async def test_deleted_and_expired_messages_free_room_at_the_next_recount(
    make_driver: DriverFactory, project: str, clock: ManualClock
) -> None:
    driver = await make_driver(quota_messages=4, quota_recount_interval=1)
    ids = await post(driver, project, "q", [1, 2, 3, 4], ttl=60)
    await delete(driver, project, "q", ids[:2])
    with pytest.raises(QuotaExceeded):  # counted less than one interval ago: still full
        await post(driver, project, "q", [5])
    clock.advance(1)
    await post(driver, project, "q", [5, 6], ttl=600)  # recounted: two were deleted
    with pytest.raises(QuotaExceeded):
        await post(driver, project, "q", [7])
    clock.advance(61)  # the first two left have expired, whether swept or not
    await post(driver, project, "q", [7, 8], ttl=600)
    assert [m.body for m in await list_all(driver, project, "q")] == [5, 6, 7, 8]


async def test_byte_quota_counts_stored_utf8_octets(
    make_driver: DriverFactory, project: str
) -> None:
    driver = await make_driver(quota_bytes=50)
    before = rejections("bytes")
    await post(driver, project, "q", ["é" * 10])  # stored as "éééééééééé": 22 bytes
    await post(driver, project, "q", ["x" * 26])  # 28 bytes: 50 in all
    assert await usage_rows(driver, project) == [(2, 50)]
    with pytest.raises(QuotaExceeded) as refused:
        await post(driver, project, "q", [1])
    assert refused.value.title == "Quota exceeded: bytes"
    assert rejections("bytes") == before + 1


async def test_usage_recounts_messages_stored_before_quotas_were_set(
    make_driver: DriverFactory, project: str
) -> None:
    unlimited = await make_driver()
    await post(unlimited, project, "q", [1, 2, 3])
    assert await usage_rows(unlimited, project) == []  # no quota: no bookkeeping at all
    limited = await make_driver(quota_messages=4)
    with pytest.raises(QuotaExceeded):
        await post(limited, project, "q", [4, 5])
    await post(limited, project, "q", [4])
    assert await usage_rows(limited, project) == [(4, 4)]


async def test_queue_quota_covers_create_lazy_posts_and_subscriptions(
    make_driver: DriverFactory, project: str
) -> None:
    driver = await make_driver(quota_queues=2)
    before = rejections("queues")
    for name in ("a", "b"):
        await driver.queue_create(s.QueueCreateRequest(project=project, queue=name, metadata={}))
    with pytest.raises(QuotaExceeded) as refused:
        await driver.queue_create(s.QueueCreateRequest(project=project, queue="c", metadata={}))
    assert refused.value.title == "Quota exceeded: queues"
    # Writes to queues that exist are not refused: nothing is created.
    assert not (
        await driver.queue_create(s.QueueCreateRequest(project=project, queue="a", metadata={}))
    ).created
    await post(driver, project, "b", ["fine"])
    with pytest.raises(QuotaExceeded):
        await post(driver, project, "lazy", ["refused"])
    with pytest.raises(QuotaExceeded):
        await driver.subscription_create(
            s.SubscriptionCreateRequest(
                project=project, queue="lazy", subscriber="http://127.0.0.1:9/", ttl=60, options={}
            )
        )
    assert rejections("queues") == before + 3
    listed = await driver.queue_list(s.QueueListRequest(project=project, limit=10))
    assert [q.name for q in listed.queues] == ["a", "b"]
    await driver.queue_delete(s.QueueScoped(project=project, queue="a"))
    await post(driver, project, "lazy", ["room again"])  # queues are counted live


async def test_overrides_replace_the_defaults_per_project(
    make_driver: DriverFactory, project: str
) -> None:
    vip = f"{project} vip"
    driver = await make_driver(
        quota_messages=1, quota_overrides={vip: {"messages": 3}, "free": {"messages": 0}}
    )
    await post(driver, vip, "q", [1, 2, 3])
    with pytest.raises(QuotaExceeded):
        await post(driver, vip, "q", [4])
    await post(driver, project, "q", [1])
    with pytest.raises(QuotaExceeded):
        await post(driver, project, "q", [2])


async def test_concurrent_posts_from_two_replicas_cannot_overshoot(
    make_driver: DriverFactory, project: str
) -> None:
    limit, per_post = 50, 3
    replicas = [await make_driver(quota_messages=limit) for _ in range(2)]

    async def poster(driver: SqlDriver, n: int) -> int:
        admitted = 0
        for i in range(6):
            try:
                await post(driver, project, f"q{(n + i) % 3}", [n * 100 + i] * per_post)
                admitted += 1
            except QuotaExceeded:
                pass
        return admitted

    admitted = await asyncio.gather(*(poster(replicas[n % 2], n) for n in range(10)))
    stored = sum([len(await list_all(replicas[0], project, f"q{k}", page=20)) for k in range(3)])
    # 60 posts of 3 against a limit of 50: exactly 16 fit, whatever the interleaving.
    assert sum(admitted) == limit // per_post
    assert stored == sum(admitted) * per_post


def recounts() -> float:
    for family in metrics.QUOTA_RECOUNTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                return sample.value
    return 0.0


async def test_posts_racing_deletes_and_recounts_stay_within_the_quota(
    make_driver: DriverFactory, project: str, clock: ManualClock
) -> None:
    limit = 12
    replicas = [await make_driver(quota_messages=limit, quota_recount_interval=1) for _ in range(2)]
    recounts_before = recounts()

    async def live() -> int:
        return sum([len(await list_all(replicas[1], project, f"q{k}", page=20)) for k in range(2)])

    async def poster(driver: SqlDriver, n: int) -> None:
        for i in range(4):
            with contextlib.suppress(QuotaExceeded):
                await post(driver, project, f"q{(n + i) % 2}", [n, i])

    async def consumer(driver: SqlDriver) -> None:
        for k in range(2):
            stored = await list_all(driver, project, f"q{k}", page=20)
            await delete(driver, project, f"q{k}", [m.id for m in stored[:3]])

    for _ in range(5):
        await asyncio.gather(*(poster(replicas[n % 2], n) for n in range(6)), consumer(replicas[1]))
        assert await live() <= limit
        clock.advance(1)  # the next round may recount
    assert recounts() > recounts_before


async def test_a_recount_inside_a_batch_keeps_what_the_batch_admitted(
    make_driver: DriverFactory, project: str, clock: ManualClock
) -> None:
    driver = await make_driver(quota_messages=4, quota_recount_interval=1)
    await delete(driver, project, "q", await post(driver, project, "q", [0, 0]))
    clock.advance(1)  # the counter still says 2; a recount would find 0
    # One group-commit batch: the first fits the counter, the second needs a recount (which
    # cannot see the first, not inserted yet), the third is over even after it.
    first, second, third = await asyncio.gather(
        post(driver, project, "q", [1]),
        post(driver, project, "q", [2, 2]),
        post(driver, project, "q", [3, 3]),
        return_exceptions=True,
    )
    assert isinstance(first, list) and isinstance(second, list)
    assert isinstance(third, QuotaExceeded)
    assert [m.body for m in await list_all(driver, project, "q")] == [1, 2, 2]
