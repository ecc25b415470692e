"""Messages: posting defaults, delayed queues, checksums, encryption, listing, get, delete, pop."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
import sqlalchemy as sa
from pydantic import JsonValue

from tests.contract.conftest import DriverFactory, ManualClock
from tests.contract.helpers import ME, OTHER, claim, list_all, post
from tidings.common import schemas as s
from tidings.common.errors import BadClaim, InvalidRequest, MessageClaimed, NotFound
from tidings.storage.drivers import SqlDriver
from tidings.storage.tables import messages


async def create(driver: SqlDriver, project: str, queue: str, **metadata: object) -> None:
    await driver.queue_create(
        s.QueueCreateRequest(project=project, queue=queue, metadata=dict(metadata))
    )


async def get(driver: SqlDriver, project: str, queue: str, message_id: str) -> s.Message:
    reply = await driver.message_get(
        s.MessageGetRequest(project=project, queue=queue, message_id=message_id)
    )
    return reply.message


async def test_post_returns_ids_in_request_order(driver: SqlDriver, project: str) -> None:
    bodies: list[JsonValue] = [{"n": 1}, [1, 2], "text", 3.5, None, True]
    ids = await post(driver, project, "q", bodies)
    assert len(ids) == len(set(ids)) == 6
    listed = await list_all(driver, project, "q")
    assert [m.id for m in listed] == ids
    assert [m.body for m in listed] == bodies
    assert all(m.age == 0 and m.claim_id is None and m.checksum is None for m in listed)


async def test_ttl_defaults(make_driver: DriverFactory, project: str) -> None:
    driver = await make_driver(default_message_ttl=500)
    await create(driver, project, "custom", _default_message_ttl=120)
    [plain] = await post(driver, project, "plain", [1])
    [custom] = await post(driver, project, "custom", [1])
    [explicit] = await post(driver, project, "custom", [1], ttl=90)
    assert (await get(driver, project, "plain", plain)).ttl == 500
    assert (await get(driver, project, "custom", custom)).ttl == 120
    assert (await get(driver, project, "custom", explicit)).ttl == 90


async def test_delay_is_ignored_on_queues_that_are_not_delayed(
    driver: SqlDriver, project: str
) -> None:
    await post(driver, project, "q", [1], delay=300)
    reply = await driver.message_list(
        s.MessageListRequest(project=project, queue="q", client_id=ME)
    )
    assert len(reply.messages) == 1 and reply.delayed_queue is False
    assert (await claim(driver, project, "q")).claim_id is not None


async def test_delayed_queue_hides_messages_until_due(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    await create(driver, project, "q", _default_message_delay=60)
    [by_default] = await post(driver, project, "q", ["default delay"])
    [short] = await post(driver, project, "q", ["short delay"], delay=10)
    [now] = await post(driver, project, "q", ["no delay"], delay=0)

    async def visible(**flags: bool) -> list[str]:
        reply = await driver.message_list(
            s.MessageListRequest(project=project, queue="q", client_id=ME, **flags)
        )
        assert reply.delayed_queue is True
        return [m.id for m in reply.messages]

    assert await visible() == [now]
    assert await visible(include_delayed=True) == [by_default, short, now]
    assert (await get(driver, project, "q", by_default)).id == by_default  # get ignores delay
    held = await claim(driver, project, "q", ttl=300)
    assert [m.id for m in held.messages] == [now]
    clock.advance(11)
    assert await visible() == [short]  # `now` is claimed
    clock.advance(50)
    assert await visible() == [by_default, short]


async def test_post_size_is_checked_against_the_queue_limit(
    driver: SqlDriver, project: str
) -> None:
    await create(driver, project, "small", _max_messages_post_size=100)
    request = s.MessagePostRequest(
        project=project, queue="small", client_id=ME, messages=[s.NewMessage(body=1)],
        content_length=101,
    )  # fmt: skip
    with pytest.raises(InvalidRequest) as error:
        await driver.message_post(request)
    assert error.value.description == (
        "Message collection size is too large. The max size for current queue is 100. "
        "It is calculated by max size = min(max_messages_post_size_config: 262144, "
        "max_messages_post_size_queue: 100)."
    )
    assert (await driver.queue_stats(s.QueueScoped(project=project, queue="small"))).total == 0
    request.content_length = 100
    assert len((await driver.message_post(request)).ids) == 1
    # The failed post did not burn sequence numbers: the next marker page starts at 1.
    listed = await driver.message_list(
        s.MessageListRequest(project=project, queue="small", client_id=OTHER, marker="0")
    )
    assert listed.marker == "1"


async def test_checksum(make_driver: DriverFactory, project: str) -> None:
    driver = await make_driver(enable_checksum=True)
    body: JsonValue = {"event": "BackupStarted", "backup_id": "c378813c"}
    [with_sum, without] = await post(driver, project, "q", [body, None])
    assert (await get(driver, project, "q", with_sum)).checksum == (
        "MD5:5482f08c478b472966cf33badcf5cfff"
    )
    assert (await get(driver, project, "q", without)).checksum is None


async def test_encryption_at_rest_round_trips_on_every_read(
    driver: SqlDriver, project: str
) -> None:
    await create(driver, project, "secret", _enable_encrypt_messages=True)
    bodies: list[JsonValue] = [{"card": "4111-1111"}, "plain string secret", None]
    ids = await post(driver, project, "secret", bodies)
    async with driver.engine.connect() as conn:
        stored = (
            (await conn.execute(sa.select(messages.c.body).where(messages.c.id.in_(ids))))
            .scalars()
            .all()
        )
    assert len(stored) == 3 and not any("4111" in b or "secret" in b for b in stored)
    assert [m.body for m in await list_all(driver, project, "secret")] == bodies
    assert (await get(driver, project, "secret", ids[0])).body == bodies[0]
    many = await driver.message_get_many(
        s.MessageGetManyRequest(project=project, queue="secret", message_ids=ids)
    )
    assert [m.body for m in many.messages] == bodies
    held = await claim(driver, project, "secret", limit=1)
    assert [m.body for m in held.messages] == bodies[:1]
    assert held.claim_id is not None
    got = await driver.claim_get(
        s.ClaimRequest(project=project, queue="secret", claim_id=held.claim_id)
    )
    assert [m.body for m in got.messages] == bodies[:1]
    popped = await driver.message_pop(s.MessagePopRequest(project=project, queue="secret", count=5))
    assert [m.body for m in popped.messages] == bodies[1:]


async def test_marker_paging_sees_every_message_once_in_order(
    driver: SqlDriver, project: str
) -> None:
    ids: list[str] = []
    for batch in range(5):
        ids += await post(driver, project, "q", [f"{batch}-{i}" for i in range(5)])
    first = await driver.message_list(
        s.MessageListRequest(project=project, queue="q", client_id=ME, limit=7)
    )
    assert first.marker is not None and int(first.marker) > 0
    assert [m.id for m in await list_all(driver, project, "q", page=7)] == ids
    assert [m.id for m in await list_all(driver, project, "q", page=1)] == ids


async def test_bad_marker_gives_an_empty_page(driver: SqlDriver, project: str) -> None:
    await post(driver, project, "q", [1])
    for marker in ["abc", "1.5", ""]:
        reply = await driver.message_list(
            s.MessageListRequest(project=project, queue="q", client_id=ME, marker=marker)
        )
        assert reply.messages == [] and reply.marker is None


async def test_missing_queue_lists_empty(driver: SqlDriver, project: str) -> None:
    reply = await driver.message_list(
        s.MessageListRequest(project=project, queue="q", client_id=ME)
    )
    assert reply == s.MessageListReply(messages=[])


async def test_echo_and_include_claimed(driver: SqlDriver, project: str) -> None:
    [mine] = await post(driver, project, "q", ["mine"], client_id=ME)
    [theirs, claimed] = await post(driver, project, "q", ["theirs", "claimed"], client_id=OTHER)
    await driver.message_delete(
        s.MessageDeleteRequest(project=project, queue="q", message_id=theirs)
    )
    [theirs] = await post(driver, project, "q", ["theirs"], client_id=OTHER)
    held = await claim(driver, project, "q", limit=2)  # claims ignore echo: takes mine too
    assert [m.id for m in held.messages] == [mine, claimed]

    async def ids(**flags: bool) -> list[str]:
        return [m.id for m in await list_all(driver, project, "q", **flags)]

    assert await ids() == [theirs]
    assert await ids(echo=True) == [theirs]
    assert await ids(include_claimed=True) == [claimed, theirs]
    assert await ids(echo=True, include_claimed=True) == [mine, claimed, theirs]
    listed = await list_all(driver, project, "q", include_claimed=True)
    assert listed[0].claim_id == held.claim_id and listed[1].claim_id is None


async def test_get_and_get_many(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", [1, 2, 3], client_id=ME)  # own messages included
    held = await claim(driver, project, "q", limit=1)
    assert (await get(driver, project, "q", ids[0])).claim_id == held.claim_id
    for unknown in ["0" * 32, "not-an-id", ""]:
        with pytest.raises(NotFound):
            await get(driver, project, "q", unknown)
    with pytest.raises(NotFound):
        await get(driver, project + "-x", "q", ids[0])
    with pytest.raises(NotFound):
        await get(driver, project, "other", ids[0])
    many = await driver.message_get_many(
        s.MessageGetManyRequest(project=project, queue="q", message_ids=[ids[2], "-1", ids[0]])
    )
    assert [m.id for m in many.messages] == [ids[2], ids[0]]
    with pytest.raises(NotFound):
        await driver.message_get_many(
            s.MessageGetManyRequest(project=project, queue="q", message_ids=["-1", "f" * 32])
        )
    with pytest.raises(NotFound):
        await driver.message_get_many(
            s.MessageGetManyRequest(project=project, queue="nope", message_ids=ids)
        )


async def test_expired_messages_are_invisible_at_once(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    [short] = await post(driver, project, "q", ["short"], ttl=60)
    [long] = await post(driver, project, "q", ["long"], ttl=120)
    clock.advance(60)
    assert [m.id for m in await list_all(driver, project, "q")] == [long]
    with pytest.raises(NotFound):
        await get(driver, project, "q", short)
    stats = await driver.queue_stats(s.QueueScoped(project=project, queue="q"))
    assert stats.total == 1 and stats.oldest is not None and stats.oldest.id == long
    held = await claim(driver, project, "q")
    assert [m.id for m in held.messages] == [long]
    clock.advance(3600)
    popped = await driver.message_pop(s.MessagePopRequest(project=project, queue="q", count=5))
    assert popped.messages == []


async def delete(
    driver: SqlDriver, project: str, message_id: str, claim_id: str | None = None
) -> None:
    await driver.message_delete(
        s.MessageDeleteRequest(project=project, queue="q", message_id=message_id, claim_id=claim_id)
    )


async def test_delete_decision_table(driver: SqlDriver, project: str, clock: ManualClock) -> None:
    free, claimed, other, stale = await post(driver, project, "q", [1, 2, 3, 4])
    # A malformed claim id is refused before the message is even looked up.
    with pytest.raises(BadClaim) as malformed:
        await delete(driver, project, "f" * 32, claim_id="123")
    assert malformed.value.description == "The specified claim does not exist or has expired."
    assert malformed.value.title == "Unable to delete"
    # Unknown or malformed message ids: nothing to do.
    await delete(driver, project, "f" * 32)
    await delete(driver, project, "invalid")
    # Not claimed, no claim id: deleted.
    await delete(driver, project, free)
    with pytest.raises(NotFound):
        await get(driver, project, "q", free)
    held = await claim(driver, project, "q", limit=1)
    assert held.claim_id is not None and [m.id for m in held.messages] == [claimed]
    # Claimed, no claim id: 403.
    with pytest.raises(MessageClaimed) as no_claim:
        await delete(driver, project, claimed)
    assert no_claim.value.description == (
        "This message is claimed; it cannot be deleted without a valid claim ID."
    )
    # Claimed by another claim: 403.
    with pytest.raises(MessageClaimed):
        await delete(driver, project, claimed, claim_id="e" * 32)
    # Not claimed at all, claim id given: 400.
    with pytest.raises(BadClaim) as not_claimed:
        await delete(driver, project, other, claim_id=held.claim_id)
    assert not_claimed.value.description == (
        "A claim was specified, but the message is not currently claimed."
    )
    # The right claim: deleted.
    await delete(driver, project, claimed, claim_id=held.claim_id)
    with pytest.raises(NotFound):
        await get(driver, project, "q", claimed)
    # A claim that expired still names its message (Zaqar does not re-check expiry) ...
    expiring = await claim(driver, project, "q", limit=2, ttl=60)
    assert expiring.claim_id is not None
    clock.advance(61)
    await delete(driver, project, other, claim_id=expiring.claim_id)
    # ... but a different, stale claim id on a message nobody holds is a bad claim.
    with pytest.raises(BadClaim):
        await delete(driver, project, stale, claim_id="d" * 32)
    await delete(driver, project, stale)


async def test_delete_many_ignores_claims(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", [1, 2, 3, 4])
    await claim(driver, project, "q", limit=2)
    await driver.message_delete_many(
        s.MessageDeleteManyRequest(project=project, queue="q", message_ids=[*ids[:3], "bad"])
    )
    assert [m.id for m in await list_all(driver, project, "q", include_claimed=True)] == [ids[3]]
    await driver.message_delete_many(
        s.MessageDeleteManyRequest(project=project, queue="nope", message_ids=ids)
    )


async def test_delete_many_with_claim_ids(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", [1, 2, 3])
    held = await claim(driver, project, "q", limit=2)
    assert held.claim_id is not None
    with pytest.raises(BadClaim):
        await driver.message_delete_many(
            s.MessageDeleteManyRequest(
                project=project, queue="q", message_ids=ids[:2], claim_ids=["c" * 32]
            )
        )
    assert len(await list_all(driver, project, "q", include_claimed=True)) == 3
    await driver.message_delete_many(
        s.MessageDeleteManyRequest(
            project=project, queue="q", message_ids=ids[:2], claim_ids=[held.claim_id]
        )
    )
    assert [m.id for m in await list_all(driver, project, "q", include_claimed=True)] == [ids[2]]


async def test_pop_takes_unclaimed_messages_oldest_first(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", [1, 2, 3, 4, 5])
    await claim(driver, project, "q", limit=1)
    popped = await driver.message_pop(s.MessagePopRequest(project=project, queue="q", count=3))
    assert [m.id for m in popped.messages] == ids[1:4]
    assert all(m.claim_id is None and m.claim_count == 0 for m in popped.messages)
    rest = await list_all(driver, project, "q", include_claimed=True)
    assert [m.id for m in rest] == [ids[0], ids[4]]
    empty = await driver.message_pop(s.MessagePopRequest(project=project, queue="nope", count=3))
    assert empty.messages == []


TRICKY_BODIES: list[JsonValue] = [
    "tab\tnew line\nback\\slash \\N carriage\rreturn",
    {"unicode": "ünïcødé ✓ 🚀", "nul-free": "\u0001\u001f", "quote": "\"'"},
    ["\\.", "end of copy?\n\\.\n"],
    None,
    3.141592653589793,
]


async def test_a_big_group_commit_batch_stores_every_message_exactly(
    make_driver: DriverFactory, project: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Many concurrent posts make one batch of more rows than PostgreSQL inserts by
    executemany (it switches to COPY at 40): every body comes back as posted, each post's
    messages contiguous and in order."""
    driver = await make_driver()
    posts: list[list[JsonValue]] = [
        [{"post": p, "n": n, "tricky": TRICKY_BODIES[n % 5]} for n in range(10)] for p in range(12)
    ]
    replies = await asyncio.gather(*(post(driver, project, "big", bodies) for bodies in posts))
    assert all(len(ids) == 10 for ids in replies)
    # The batch went in whole: no fallback to one post at a time hid a failed COPY.
    assert "retrying one by one" not in caplog.text
    seen = [cast(dict[str, Any], m.body) for m in await list_all(driver, project, "big", page=20)]
    assert len(seen) == 120
    assert sorted((b["post"], b["n"]) for b in seen) == [
        (p, n) for p in range(12) for n in range(10)
    ]
    assert all(b["tricky"] == TRICKY_BODIES[b["n"] % 5] for b in seen)
    for first in range(0, 120, 10):  # one block of sequence numbers per post
        block = seen[first : first + 10]
        assert [b["n"] for b in block] == list(range(10))
        assert len({b["post"] for b in block}) == 1


async def test_a_batch_over_several_queues_new_and_old_numbers_each_queue(
    make_driver: DriverFactory, project: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One batch bumps the sequences of all its queues at once (PostgreSQL); a queue that does
    not exist yet makes it run again queue by queue. Either way every post lands, each queue
    numbered on from where it was, without a gap."""
    driver = await make_driver()
    for name in ("old-a", "old-c"):
        await post(driver, project, name, ["before"])
    names = ["old-a", "new-b", "old-c", "new-d"] * 3
    replies = await asyncio.gather(
        *(post(driver, project, name, [f"{name}-{i}-{n}" for n in range(3)]) for i, name in
          enumerate(names))
    )  # fmt: skip
    assert all(len(ids) == 3 for ids in replies)
    assert "retrying one by one" not in caplog.text
    for name in set(names):
        listed = await list_all(driver, project, name, page=20)
        bodies = [m.body for m in listed]
        assert len(bodies) == (10 if name.startswith("old") else 9)
        for first in range(len(bodies) % 3, len(bodies), 3):  # each post's block contiguous
            block = cast(list[str], bodies[first : first + 3])
            assert [b.rsplit("-", 1)[1] for b in block] == ["0", "1", "2"]
    # The new queues exist now: a batch over all four goes through with the bumps at once.
    again = await asyncio.gather(*(post(driver, project, name, ["x"]) for name in names[:4]))
    assert all(len(ids) == 1 for ids in again)
    # A queue deleted since this replica last posted to it: the batch meets it missing, rolls
    # back and goes queue by queue, creating it afresh.
    await driver.queue_delete(s.QueueScoped(project=project, queue="old-a"))
    revived = await asyncio.gather(
        *(post(driver, project, name, [f"{name}-revived"]) for name in ("old-a", "old-c"))
    )
    assert all(len(ids) == 1 for ids in revived)
    assert [m.body for m in await list_all(driver, project, "old-a")] == ["old-a-revived"]
    assert len(await list_all(driver, project, "old-c", page=20)) == 12
