"""Queues: lazy creation, listing, JSON-patch of stored metadata, delete, stats, purge."""

from __future__ import annotations

import pytest

from tests.contract.conftest import ManualClock
from tests.contract.helpers import claim, post
from tidings.common import schemas as s
from tidings.common.errors import Conflict, InvalidBody, NotFound
from tidings.storage.drivers import SqlDriver


async def create(driver: SqlDriver, project: str, queue: str, **metadata: object) -> bool:
    reply = await driver.queue_create(
        s.QueueCreateRequest(project=project, queue=queue, metadata=dict(metadata))
    )
    return reply.created


async def test_missing_queue_reads_as_absent(driver: SqlDriver, project: str) -> None:
    reply = await driver.queue_get(s.QueueScoped(project=project, queue="nope"))
    assert reply == s.QueueGetReply(exists=False, metadata={})


async def test_create_is_idempotent_and_keeps_metadata(driver: SqlDriver, project: str) -> None:
    assert await create(driver, project, "q", description="first") is True
    assert await create(driver, project, "q", description="second") is False
    reply = await driver.queue_get(s.QueueScoped(project=project, queue="q"))
    assert reply.exists and reply.metadata == {"description": "first"}


async def test_posting_creates_the_queue(driver: SqlDriver, project: str) -> None:
    await post(driver, project, "lazy", [1])
    assert (await driver.queue_get(s.QueueScoped(project=project, queue="lazy"))).exists


async def test_list_sorted_paged_by_marker_and_scoped_to_project(
    driver: SqlDriver, project: str
) -> None:
    for name in ["delta", "alpha", "charlie", "bravo", "echo"]:
        await create(driver, project, name)
    await create(driver, project + "-other", "aardvark")
    first = await driver.queue_list(s.QueueListRequest(project=project, limit=2))
    assert [q.name for q in first.queues] == ["alpha", "bravo"]
    assert all(q.metadata is None for q in first.queues)
    second = await driver.queue_list(s.QueueListRequest(project=project, limit=2, marker="bravo"))
    assert [q.name for q in second.queues] == ["charlie", "delta"]
    last = await driver.queue_list(s.QueueListRequest(project=project, limit=2, marker="delta"))
    assert [q.name for q in last.queues] == ["echo"]
    empty = await driver.queue_list(s.QueueListRequest(project=project, marker="echo"))
    assert empty.queues == [] and empty.count is None


async def test_list_name_filter_is_a_case_sensitive_substring(
    driver: SqlDriver, project: str
) -> None:
    for name in ["billing", "Billing-eu", "shipping", "bill"]:
        await create(driver, project, name)
    reply = await driver.queue_list(s.QueueListRequest(project=project, name="ill"))
    assert [q.name for q in reply.queues] == ["Billing-eu", "bill", "billing"]
    reply = await driver.queue_list(s.QueueListRequest(project=project, name="Bill"))
    assert [q.name for q in reply.queues] == ["Billing-eu"]
    reply = await driver.queue_list(s.QueueListRequest(project=project, name="%"))
    assert reply.queues == []


async def test_list_markers_and_names_holding_a_nul(driver: SqlDriver, project: str) -> None:
    """Found by fuzzing on PostgreSQL, which takes no NUL in a text parameter (it was a 503).
    No queue name holds one, so a marker cut at its NUL selects the same queues."""
    for name in ["alpha", "bravo", "charlie"]:
        await create(driver, project, name)
    after = await driver.queue_list(s.QueueListRequest(project=project, marker="alpha\0zz"))
    assert [q.name for q in after.queues] == ["bravo", "charlie"]
    every = await driver.queue_list(s.QueueListRequest(project=project, marker="\0"))
    assert [q.name for q in every.queues] == ["alpha", "bravo", "charlie"]
    for name in ("\0", "a\0"):
        reply = await driver.queue_list(s.QueueListRequest(project=project, name=name))
        assert reply.queues == []


async def test_list_metadata_filters_detailed_and_count(driver: SqlDriver, project: str) -> None:
    await create(driver, project, "a", tier=1, team="x")
    await create(driver, project, "b", tier=2, team="x")
    await create(driver, project, "c", tier=True, team="x")  # JSON true is not 1
    await create(driver, project, "d", tier="1", team="x")  # nor is the string "1"
    for i in range(30):  # filtering must look past the first chunk of names
        await create(driver, project, f"z{i:02d}", tier=3)
    await create(driver, project, "zz", tier=1, team="x")
    reply = await driver.queue_list(
        s.QueueListRequest(project=project, filters={"tier": 1, "team": "x"}, detailed=True)
    )
    assert [(q.name, q.metadata) for q in reply.queues] == [
        ("a", {"tier": 1, "team": "x"}),
        ("zz", {"tier": 1, "team": "x"}),
    ]
    paged = await driver.queue_list(
        s.QueueListRequest(project=project, filters={"tier": 1}, limit=1, marker="a")
    )
    assert [q.name for q in paged.queues] == ["zz"]
    counted = await driver.queue_list(s.QueueListRequest(project=project, with_count=True))
    assert counted.count == 35
    nothing = await driver.queue_list(
        s.QueueListRequest(project=project + "-empty", with_count=True)
    )
    assert nothing.count is None  # Zaqar leaves out a zero count


async def patch(
    driver: SqlDriver, project: str, queue: str, *operations: tuple[str, str, object]
) -> dict[str, object]:
    reply = await driver.queue_patch(
        s.QueuePatchRequest(
            project=project,
            queue=queue,
            operations=[s.PatchOperation(op=op, key=k, value=v) for op, k, v in operations],
        )
    )
    return dict(reply.metadata)


async def test_patch_applies_operations_to_stored_metadata(driver: SqlDriver, project: str) -> None:
    await create(driver, project, "q", keep=1, old="x")
    result = await patch(
        driver, project, "q",
        ("add", "new", {"nested": [1, 2]}),
        ("replace", "keep", 2),
        ("remove", "old", None),
        ("replace", "_default_message_ttl", 120),  # reserved keys may be replaced when absent
        ("remove", "_max_claim_count", None),  # and removed when absent: no-op
    )  # fmt: skip
    assert result == {"keep": 2, "new": {"nested": [1, 2]}, "_default_message_ttl": 120}
    stored = await driver.queue_get(s.QueueScoped(project=project, queue="q"))
    assert stored.metadata == result


async def test_patch_conflicts_leave_metadata_untouched(driver: SqlDriver, project: str) -> None:
    await create(driver, project, "q", keep=1)
    with pytest.raises(Conflict) as replace_error:
        await patch(driver, project, "q", ("add", "a", 1), ("replace", "missing", 1))
    assert replace_error.value.description == "Can't replace non-existent object missing."
    with pytest.raises(Conflict) as remove_error:
        await patch(driver, project, "q", ("remove", "missing", None))
    assert remove_error.value.description == "Can't remove non-existent object missing."
    stored = await driver.queue_get(s.QueueScoped(project=project, queue="q"))
    assert stored.metadata == {"keep": 1}


async def test_patch_revalidates_reserved_values(driver: SqlDriver, project: str) -> None:
    await create(driver, project, "q")
    # Zaqar titles a PATCH that breaks the reserved values "Invalid request body".
    with pytest.raises(InvalidBody):
        await patch(driver, project, "q", ("add", "_default_message_ttl", 0))
    with pytest.raises(InvalidBody):
        await patch(driver, project, "q", ("add", "_enable_encrypt_messages", "yes"))
    stored = await driver.queue_get(s.QueueScoped(project=project, queue="q"))
    assert stored.metadata == {}


async def test_patch_missing_queue_is_not_found(driver: SqlDriver, project: str) -> None:
    with pytest.raises(NotFound):
        await patch(driver, project, "nope", ("add", "a", 1))


async def test_delete_removes_messages_and_claims(driver: SqlDriver, project: str) -> None:
    await post(driver, project, "q", [1, 2, 3])
    held = await claim(driver, project, "q", limit=1)
    assert held.claim_id is not None
    await driver.queue_delete(s.QueueScoped(project=project, queue="q"))
    await driver.queue_delete(s.QueueScoped(project=project, queue="q"))  # idempotent
    assert not (await driver.queue_get(s.QueueScoped(project=project, queue="q"))).exists
    await create(driver, project, "q")
    stats = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert stats.total == 0
    with pytest.raises(NotFound):
        await driver.claim_get(s.ClaimRequest(project=project, queue="q", claim_id=held.claim_id))


async def test_stats(driver: SqlDriver, project: str, clock: ManualClock) -> None:
    missing = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert missing == s.QueueStatsReply(claimed=0, free=0, total=0)
    first = await post(driver, project, "q", [1, 2])
    posted_at = clock()
    clock.advance(10)
    last = await post(driver, project, "q", [3])
    await claim(driver, project, "q", limit=1)
    clock.advance(5)
    stats = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert (stats.claimed, stats.free, stats.total) == (1, 2, 3)
    assert stats.oldest is not None and stats.newest is not None
    assert (stats.oldest.id, stats.oldest.age) == (first[0], 15)
    assert stats.oldest.created == pytest.approx(posted_at)
    assert (stats.newest.id, stats.newest.age) == (last[0], 5)


async def test_stats_count_delayed_messages_as_free(driver: SqlDriver, project: str) -> None:
    await create(driver, project, "q", _default_message_delay=30)
    await post(driver, project, "q", [1, 2])
    stats = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert (stats.claimed, stats.free, stats.total) == (0, 2, 2)


async def test_purge_removes_claimed_messages_too_and_keeps_metadata(
    driver: SqlDriver, project: str
) -> None:
    await create(driver, project, "q", description="kept")
    await post(driver, project, "q", [1, 2, 3])
    held = await claim(driver, project, "q", limit=2)
    await driver.queue_purge(s.QueuePurgeRequest(project=project, queue="q"))
    stats = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert stats.total == 0
    assert held.claim_id is not None
    with pytest.raises(NotFound):
        await driver.claim_get(s.ClaimRequest(project=project, queue="q", claim_id=held.claim_id))
    stored = await driver.queue_get(s.QueueScoped(project=project, queue="q"))
    assert stored.metadata == {"description": "kept"}


async def test_purge_of_subscriptions_only_keeps_messages(driver: SqlDriver, project: str) -> None:
    await post(driver, project, "q", [1])
    await driver.queue_purge(
        s.QueuePurgeRequest(project=project, queue="q", resource_types=["subscriptions"])
    )
    stats = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert stats.total == 1
    await driver.queue_purge(s.QueuePurgeRequest(project=project, queue="missing"))
