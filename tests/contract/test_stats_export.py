"""The depth snapshot behind the depth metrics, on every driver: live messages and the oldest
one per queue and project, the deepest first, bounded by the limit, expired rows not counted."""

from __future__ import annotations

from tests.contract.conftest import DriverFactory, ManualClock
from tests.contract.helpers import post
from tidings.common import schemas as s
from tidings.storage.drivers.stats_export import Depth


async def test_depths_and_ages_deepest_first_within_the_limit(
    make_driver: DriverFactory, fresh_database: str, clock: ManualClock
) -> None:
    driver = await make_driver(url=fresh_database)
    await post(driver, "p one", "old", [1, 2], ttl=100)
    clock.advance(30)
    await post(driver, "p one", "deep", [1, 2, 3, 4])
    await post(driver, "p two", "mid", [1, 2, 3])
    await driver.queue_create(s.QueueCreateRequest(project="p two", queue="empty"))
    clock.advance(10)

    snapshot = await driver.depth_snapshot(limit=10)
    assert snapshot.queues == [
        Depth("p one", "deep", 4, 10.0),
        Depth("p two", "mid", 3, 10.0),
        Depth("p one", "old", 2, 40.0),
        Depth("p two", "empty", 0, 0.0),
    ]
    assert snapshot.projects == [Depth("p one", None, 6, 40.0), Depth("p two", None, 3, 10.0)]
    assert (snapshot.omitted_queues, snapshot.omitted_projects) == (0, 0)
    assert snapshot.taken_at == clock()

    bounded = await driver.depth_snapshot(limit=1)
    assert bounded.queues == [Depth("p one", "deep", 4, 10.0)]
    assert bounded.projects == [Depth("p one", None, 6, 40.0)]
    assert (bounded.omitted_queues, bounded.omitted_projects) == (3, 1)

    # Expired messages no longer count, though the sweeper has not removed them yet.
    clock.advance(61)
    expired = await driver.depth_snapshot(limit=10)
    assert Depth("p one", "old", 0, 0.0) in expired.queues
    assert expired.projects[0] == Depth("p one", None, 4, 71.0)


async def test_a_snapshot_read_in_small_pages_counts_what_one_page_counts(
    make_driver: DriverFactory, fresh_database: str, clock: ManualClock
) -> None:
    """Pages end inside a queue, at a queue's last message and across queues; each page is
    followed by a pause with its statement's duration, and no page reads more than its rows."""
    driver = await make_driver(url=fresh_database)
    await post(driver, "p one", "a", [1, 2, 3], ttl=60)
    clock.advance(5)
    await post(driver, "p one", "a", [4, 5])
    await post(driver, "p one", "b", [1])
    await post(driver, "p two", "c", [1, 2, 3, 4])
    await driver.queue_create(s.QueueCreateRequest(project="p two", queue="empty"))
    clock.advance(61)  # the first three of "a" expire: read by the pages, not counted

    whole = await driver.depth_snapshot(limit=10)
    assert whole.queues == [
        Depth("p two", "c", 4, 61.0),
        Depth("p one", "a", 2, 61.0),
        Depth("p one", "b", 1, 61.0),
        Depth("p two", "empty", 0, 0.0),
    ]
    assert whole.projects == [Depth("p two", None, 4, 61.0), Depth("p one", None, 3, 61.0)]

    for page_rows in (1, 2, 3, 5, 10):
        pauses: list[float] = []

        async def pause(took: float, pauses: list[float] = pauses) -> None:
            assert took >= 0
            pauses.append(took)

        paged = await driver.depth_snapshot(limit=10, pause=pause, page_rows=page_rows)
        assert paged == whole, page_rows
        # 10 rows: full pages, then one short (possibly empty) page that ends the walk.
        assert len(pauses) == 10 // page_rows + 1, page_rows
