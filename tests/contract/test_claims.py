"""Claims: hand-out, ttl and grace, get, renew, release, expiry, dead letter queues."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.contract.conftest import ManualClock, new_database
from tests.contract.helpers import claim, list_all, post
from tidings.common import schemas as s
from tidings.common.errors import NotFound
from tidings.storage.drivers import SqlDriver, create_driver
from tidings.storage.drivers.postgres import PostgresDriver
from tidings.storage.drivers.queue_heads import UNKNOWN, QueueHead, QueueHeads
from tidings.storage.settings import StorageSettings
from tidings.storage.tables import claims


async def claim_get(
    driver: SqlDriver, project: str, claim_id: str, queue: str = "q"
) -> s.ClaimGetReply:
    return await driver.claim_get(s.ClaimRequest(project=project, queue=queue, claim_id=claim_id))


async def test_claim_takes_free_messages_oldest_first(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", list(range(5)))
    first = await claim(driver, project, "q", limit=2)
    assert first.claim_id is not None
    assert [m.id for m in first.messages] == ids[:2]
    assert all(m.claim_id == first.claim_id for m in first.messages)
    second = await claim(driver, project, "q", limit=10)
    assert [m.id for m in second.messages] == ids[2:]
    assert second.claim_id not in (None, first.claim_id)
    nothing = await claim(driver, project, "q")
    assert nothing == s.ClaimCreateReply(claim_id=None, messages=[])
    missing = await claim(driver, project, "no-such-queue")
    assert missing.claim_id is None and missing.messages == []


async def test_claim_extends_messages_that_would_die_first(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    [short] = await post(driver, project, "q", ["short"], ttl=60)
    [long] = await post(driver, project, "q", ["long"], ttl=3600)
    held = await claim(driver, project, "q", ttl=100, grace=30)
    assert {m.id: m.ttl for m in held.messages} == {short: 130, long: 3600}
    assert held.claim_id is not None
    clock.advance(90)  # past the message's own ttl of 60 s
    got = await claim_get(driver, project, held.claim_id)
    assert {m.id for m in got.messages} == {short, long}
    clock.advance(30)  # 120 s: the claim expired at 100 s, the short message lives to 130 s
    assert {m.id for m in await list_all(driver, project, "q")} == {short, long}
    clock.advance(11)  # 131 s: claim expiry (100) + grace (30) has passed
    assert [m.id for m in await list_all(driver, project, "q")] == [long]


async def test_claim_get(driver: SqlDriver, project: str, clock: ManualClock) -> None:
    ids = await post(driver, project, "q", [1, 2])
    held = await claim(driver, project, "q", ttl=300, grace=60)
    assert held.claim_id is not None
    clock.advance(42)
    got = await claim_get(driver, project, held.claim_id)
    assert (got.claim_id, got.ttl, got.age) == (held.claim_id, 300, 42)
    assert [m.id for m in got.messages] == ids
    assert all(m.claim_id == held.claim_id and m.age == 42 for m in got.messages)
    for wrong in [("q", "f" * 32), ("q", "malformed"), ("other", held.claim_id)]:
        with pytest.raises(NotFound):
            await claim_get(driver, project, wrong[1], queue=wrong[0])
    with pytest.raises(NotFound):
        await claim_get(driver, project + "-x", held.claim_id)
    await driver.message_delete_many(
        s.MessageDeleteManyRequest(project=project, queue="q", message_ids=ids)
    )
    with pytest.raises(NotFound):  # a claim without messages is gone
        await claim_get(driver, project, held.claim_id)


async def test_claim_expires(driver: SqlDriver, project: str, clock: ManualClock) -> None:
    ids = await post(driver, project, "q", [1])
    held = await claim(driver, project, "q", ttl=60)
    assert held.claim_id is not None
    clock.advance(60)
    with pytest.raises(NotFound):
        await claim_get(driver, project, held.claim_id)
    assert [m.id for m in await list_all(driver, project, "q")] == ids
    again = await claim(driver, project, "q")
    assert [m.id for m in again.messages] == ids


async def test_renew_resets_age_and_extends(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    [message] = await post(driver, project, "q", ["m"], ttl=60)
    held = await claim(driver, project, "q", ttl=60, grace=60)
    assert held.claim_id is not None
    clock.advance(50)
    await driver.claim_renew(
        s.ClaimRenewRequest(project=project, queue="q", claim_id=held.claim_id, ttl=200, grace=100)
    )
    got = await claim_get(driver, project, held.claim_id)
    assert (got.ttl, got.age) == (200, 0)
    assert got.messages[0].ttl == 300  # renewal re-extends: claim ttl + grace
    clock.advance(199)
    assert (await claim_get(driver, project, held.claim_id)).messages[0].id == message
    assert await list_all(driver, project, "q") == []  # still claimed
    clock.advance(1)
    with pytest.raises(NotFound):
        await claim_get(driver, project, held.claim_id)
    with pytest.raises(NotFound):
        await driver.claim_renew(
            s.ClaimRenewRequest(
                project=project, queue="q", claim_id=held.claim_id, ttl=60, grace=60
            )
        )
    with pytest.raises(NotFound):
        await driver.claim_renew(
            s.ClaimRenewRequest(project=project, queue="q", claim_id="bad", ttl=60, grace=60)
        )


async def test_renew_does_not_resurrect_expired_messages(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    await post(driver, project, "q", ["m"], ttl=60)
    held = await claim(driver, project, "q", ttl=500, grace=60)
    assert held.claim_id is not None and held.messages[0].ttl == 560
    await post(driver, project, "q", ["keeps claim alive"], ttl=3600)
    clock.advance(400)
    await driver.claim_renew(
        s.ClaimRenewRequest(project=project, queue="q", claim_id=held.claim_id, ttl=60, grace=60)
    )
    got = await claim_get(driver, project, held.claim_id)
    assert [m.body for m in got.messages] == ["m"]  # extended to 500 + 60 at claim time
    clock.advance(200)  # 600 s: past 560, the message's extended life
    with pytest.raises(NotFound):
        await claim_get(driver, project, held.claim_id)


async def test_release_frees_messages_at_once(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", [1, 2])
    held = await claim(driver, project, "q")
    assert held.claim_id is not None
    await driver.claim_release(s.ClaimRequest(project=project, queue="q", claim_id=held.claim_id))
    assert [m.id for m in await list_all(driver, project, "q")] == ids
    assert all(m.claim_id is None for m in await list_all(driver, project, "q"))
    with pytest.raises(NotFound):
        await claim_get(driver, project, held.claim_id)
    for unknown in ["f" * 32, "bad"]:  # release is always fine
        await driver.claim_release(s.ClaimRequest(project=project, queue="q", claim_id=unknown))
    await driver.claim_release(s.ClaimRequest(project=project, queue="nope", claim_id="f" * 32))
    assert [m.id for m in (await claim(driver, project, "q")).messages] == ids


async def test_dead_letter_queue(driver: SqlDriver, project: str, clock: ManualClock) -> None:
    await driver.queue_create(
        s.QueueCreateRequest(
            project=project,
            queue="work",
            metadata={
                "_max_claim_count": 2,
                "_dead_letter_queue": "dead",
                "_dead_letter_queue_messages_ttl": 7200,
            },
        )
    )
    [message] = await post(driver, project, "work", ["poison"], ttl=3600)
    [earlier] = await post(driver, project, "dead", ["already dead"])
    for count in (1, 2):
        held = await claim(driver, project, "work", ttl=60)
        assert [(m.id, m.claim_count) for m in held.messages] == [(message, count)]
        clock.advance(61)
    third = await claim(driver, project, "work", ttl=60)
    assert third == s.ClaimCreateReply(claim_id=None, messages=[])
    assert await list_all(driver, project, "work", include_claimed=True) == []
    dead = await list_all(driver, project, "dead")
    assert [m.id for m in dead] == [earlier, message]  # it took the DLQ's next sequence
    assert dead[1].body == "poison" and dead[1].ttl == 7200 and dead[1].claim_id is None
    clock.advance(3700)  # the DLQ ttl really governs its life now
    assert [m.id for m in await list_all(driver, project, "dead")] == [message]


async def test_claim_count_stays_zero_without_dead_lettering(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    await post(driver, project, "q", [1])
    for _ in range(3):
        held = await claim(driver, project, "q", ttl=60)
        assert held.messages[0].claim_count == 0
        clock.advance(61)


# The bound of a queue's head (drivers/queue_heads.py): the one-statement claims (PostgreSQL)
# start their scan at the first row the previous claim saw; SQLite scans from the start.


async def consume(driver: SqlDriver, project: str, queue: str, limit: int) -> list[str]:
    """Claim up to ``limit`` messages and delete them, as a worker does; their ids."""
    held = await claim(driver, project, queue, limit=limit)
    ids = [m.id for m in held.messages]
    await driver.message_delete_many(
        s.MessageDeleteManyRequest(project=project, queue=queue, message_ids=ids)
    )
    return ids


async def test_claims_learn_where_the_queue_starts(driver: SqlDriver, project: str) -> None:
    ids = await post(driver, project, "q", list(range(5)))
    assert await consume(driver, project, "q", 2) == ids[:2]
    assert await consume(driver, project, "q", 1) == ids[2:3]
    held = await claim(driver, project, "q", limit=1)
    assert [m.id for m in held.messages] == ids[3:4]
    if driver.claims_in_one_statement:
        # The last claim saw the fourth message first: nothing below it is left.
        assert driver.queue_heads.get(project, "q").seq == 4
    assert [m.id for m in (await claim(driver, project, "q")).messages] == ids[4:]


async def test_a_claim_expiring_below_later_claims_is_claimed_again(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    ids = await post(driver, project, "q", ["a", "b", "c"])
    short = await claim(driver, project, "q", ttl=60, limit=1)
    long = await claim(driver, project, "q", ttl=600, limit=1)
    assert [m.id for m in short.messages + long.messages] == ids[:2]
    clock.advance(60)
    # The bound is the first row that exists, claimed or not, not the first one claimed.
    assert [m.id for m in (await claim(driver, project, "q")).messages] == [ids[0], ids[2]]


async def test_a_queue_created_again_is_claimed_from_its_start(
    driver: SqlDriver, project: str
) -> None:
    await post(driver, project, "q", list(range(6)))
    for _ in range(3):
        await consume(driver, project, "q", 2)  # the bound moves up to the sixth message
    await driver.queue_delete(s.QueueScoped(project=project, queue="q"))
    ids = await post(driver, project, "q", ["x", "y"])  # numbered from 1 again
    assert [m.id for m in (await claim(driver, project, "q")).messages] == ids


def test_a_queue_head_bound_only_moves_up_and_stays_bounded() -> None:
    heads = QueueHeads(limit=2)
    heads.learn("p", "q", queue_id=7, seq=10)
    heads.learn("p", "q", queue_id=7, seq=4)  # an older statement answering late
    heads.learn("p", "q", queue_id=7, seq=None)  # saw no row: teaches nothing
    assert heads.get("p", "q") == QueueHead(queue_id=7, seq=10)
    heads.learn("p", "q", queue_id=8, seq=2)  # the queue was created again
    assert heads.get("p", "q") == QueueHead(queue_id=8, seq=2)
    heads.learn("p", "r", queue_id=9, seq=1)
    heads.learn("p", "s", queue_id=10, seq=1)  # a third queue: full, so forget the others
    assert heads.get("p", "q") == UNKNOWN
    assert heads.get("p", "s") == QueueHead(queue_id=10, seq=1)


async def one_connection_postgres_driver(
    request: pytest.FixtureRequest, clock: ManualClock
) -> PostgresDriver:
    """An open PostgreSQL driver on a new database whose executor has one connection: the
    session whose statements and counters a test then reads."""
    url = await new_database(request, "postgresql")
    settings = StorageSettings(pool_size=1, pool_max_overflow=0)
    driver = create_driver(settings, url=url, clock=clock)
    assert isinstance(driver, PostgresDriver)
    await driver.open()
    return driver


async def test_claims_reuse_one_generic_plan(
    request: pytest.FixtureRequest, clock: ManualClock, project: str
) -> None:
    """PostgreSQL's plan cache re-planned every claim (0.64 ms each, more than half the cost of
    executing it) whenever it judged the generic plan the costlier; the executor's sessions
    always take the generic plan, so a claim is planned once per connection. (PostgreSQL's
    only: it does not take the ``driver_kind`` parameters.)"""
    driver = await one_connection_postgres_driver(request, clock)
    try:
        await post(driver, project, "q", list(range(8)))
        for _ in range(8):
            assert len((await claim(driver, project, "q", limit=1)).messages) == 1
        # pg_prepared_statements shows the statements of the session that reads it: the
        # executor's only connection, the one that ran the claims.
        rows = await driver._running_executor().fetch(
            sa.text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"),
            {},
        )
    finally:
        await driver.close()
    claims = [(r.generic_plans, r.custom_plans) for r in rows if "UPDATE messages" in r.statement]
    assert claims == [(8, 0)]


async def test_claims_without_recorded_ids_are_found_by_queue(
    driver: SqlDriver, project: str
) -> None:
    """A claim written by a replica from before migration 0008 records no message ids: get,
    renew and release still find its messages (by queue)."""
    await post(driver, project, "q", [1, 2, 3])
    held = await claim(driver, project, "q", limit=2)
    assert held.claim_id is not None
    async with driver.engine.begin() as conn:
        await conn.execute(
            claims.update().where(claims.c.id == held.claim_id).values(message_ids=None)
        )
    got = await claim_get(driver, project, held.claim_id)
    assert [m.body for m in got.messages] == [1, 2]
    await driver.claim_renew(
        s.ClaimRenewRequest(project=project, queue="q", claim_id=held.claim_id, ttl=200, grace=60)
    )
    assert (await claim_get(driver, project, held.claim_id)).ttl == 200
    await driver.claim_release(s.ClaimRequest(project=project, queue="q", claim_id=held.claim_id))
    assert [m.body for m in (await claim(driver, project, "q", limit=5)).messages] == [1, 2, 3]


async def test_claims_rewrite_their_messages_in_place(
    request: pytest.FixtureRequest, clock: ManualClock, project: str
) -> None:
    """A claim changes no indexed column of ``messages`` and the table leaves room on each page
    (migration 0008), so PostgreSQL updates the claimed rows in place (HOT): no new index
    entries, a fifth of the WAL. With the claim id indexed, none of them were (0 of 60).
    (PostgreSQL's only: it does not take the ``driver_kind`` parameters.)"""
    driver = await one_connection_postgres_driver(request, clock)
    try:
        await post(driver, project, "q", list(range(60)))
        for _ in range(3):
            assert len((await claim(driver, project, "q", limit=20)).messages) == 20
        executor = driver._running_executor()
        # The executor's only session ran the claims: its counters go to the shared statistics
        # the next time it is idle, which the statement after this one makes sure of.
        await executor.fetch(sa.text("SELECT pg_stat_force_next_flush()"), {})
        rows = await executor.fetch(
            sa.text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                "WHERE relname = 'messages'"
            ),
            {},
        )
    finally:
        await driver.close()
    (updated, in_place), *_ = [(r.n_tup_upd, r.n_tup_hot_upd) for r in rows]
    # Nearly all: a page can run out of room before pruning frees the older versions.
    assert updated == 60 and in_place >= 54, (updated, in_place)
