"""The outbox written with each post, and the bounded expiry sweep."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from tests.contract.conftest import DriverFactory, ManualClock, new_database
from tests.contract.helpers import ME, claim, post
from tidings.common import schemas as s
from tidings.common.events import MESSAGES_POSTED, MessagesPostedEvent
from tidings.common.logging import request_id_var
from tidings.common.subjects import event_subject
from tidings.storage.drivers import SqlDriver
from tidings.storage.drivers.pg_executor import EXECUTOR_OPTIONS, compile_statement, conninfo
from tidings.storage.drivers.statements import DELETE_EVENTS
from tidings.storage.tables import claims, messages, outbox


async def count(driver: SqlDriver, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with driver.engine.connect() as conn:
        return int(
            await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0
        )


async def test_each_post_writes_one_event(
    make_driver: DriverFactory, fresh_database: str, project: str, clock: ManualClock
) -> None:
    driver = await make_driver(url=fresh_database)
    await driver.queue_create(
        s.QueueCreateRequest(
            project=project, queue="q.1", metadata={"_enable_encrypt_messages": True}
        )
    )
    first = await post(driver, project, "q.1", [{"a": 1}, "two"], client_id=ME, ttl=120)
    second = await post(driver, project, "q.1", [3])
    rejected = s.MessagePostRequest(
        project=project, queue="tiny", client_id=ME, messages=[s.NewMessage(body=1)],
        content_length=10**9,
    )  # fmt: skip
    with pytest.raises(Exception, match="too large"):
        await driver.message_post(rejected)
    pending = await driver.outbox_pending(100, None)
    assert len(pending) == 2
    events = [MessagesPostedEvent.model_validate_json(row.payload) for row in pending]
    assert [e.event_id for e in events] == [row.event_id for row in pending]
    assert {row.subject for row in pending} == {event_subject(project, "q.1", MESSAGES_POSTED)}
    assert [[m.id for m in e.messages] for e in events] == [first, second]
    # Events carry plaintext bodies even for encrypted queues: they stay inside the cloud.
    assert [m.body for m in events[0].messages] == [{"a": 1}, "two"]
    assert [m.ttl for m in events[0].messages] == [120, 120]
    assert (events[0].project, events[0].queue, events[0].client_id) == (project, "q.1", ME)
    # Stragglers only: rows younger than the cut-off are left to the replica that wrote them.
    assert await driver.outbox_pending(100, clock() - 5) == []
    clock.advance(6)
    assert len(await driver.outbox_pending(100, clock() - 5)) == 2
    await driver.outbox_delete([pending[0].event_id])
    assert await driver.outbox_pending(100, None) == [pending[1]]


async def test_the_next_post_batch_deletes_published_events_along(
    make_driver: DriverFactory, fresh_database: str, project: str
) -> None:
    """Rows of events JetStream acked go in the next post's transaction, not in one of their own."""
    driver = await make_driver(url=fresh_database)
    await post(driver, project, "q", [1])
    await post(driver, project, "q", [2])
    first, second = await driver.outbox_pending(100, None)
    driver.outbox_delete_later([first.event_id])
    assert driver.published_waiting_since() is not None
    await post(driver, project, "other", [3])
    pending = await driver.outbox_pending(100, None)
    assert [row.event_id for row in pending][:1] == [second.event_id] and len(pending) == 2
    assert driver.published_waiting_since() is None
    assert await driver.outbox_delete_published() == 0  # nothing was left for it


async def test_published_events_outlive_a_post_batch_that_failed(
    make_driver: DriverFactory, fresh_database: str, project: str
) -> None:
    """A batch that rolls back deletes nothing: its published events wait for the next delete."""
    driver = await make_driver(url=fresh_database)
    await post(driver, project, "q", [1])
    (published,) = await driver.outbox_pending(100, None)
    driver.outbox_delete_later([published.event_id])
    async with driver.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE messages RENAME TO messages_gone"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the database says, it must fail
        await post(driver, project, "q", [2])
    async with driver.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE messages_gone RENAME TO messages"))
    assert await driver.outbox_pending(100, None) == [published]
    assert driver.published_waiting_since() is not None
    assert await driver.outbox_delete_published() == 1
    assert await driver.outbox_pending(100, None) == []


async def test_messages_and_event_commit_together(
    make_driver: DriverFactory, fresh_database: str, project: str
) -> None:
    """With the outbox unwritable, the post fails as a whole: no message without its event."""
    driver = await make_driver(url=fresh_database)
    async with driver.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE outbox RENAME TO outbox_gone"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the database says, it must fail
        await post(driver, project, "q", [1, 2])
    assert await count(driver, messages) == 0


async def test_sweeper_removes_expired_rows_in_bounded_batches(
    make_driver: DriverFactory, fresh_database: str, project: str, clock: ManualClock
) -> None:
    driver = await make_driver(url=fresh_database)
    await post(driver, project, "q", list(range(7)), ttl=60)
    keep = await post(driver, project, "keep", [1], ttl=7200)
    for _ in range(3):
        await claim(driver, project, "q", ttl=60, limit=1)
    clock.advance(3600)  # messages and claims are all due
    sweeps = []
    for _ in range(10):
        removed = await driver.sweep_expired(3)
        sweeps.append(removed)
        if removed == 0:
            break
    assert sweeps[0] == 3 + 3  # at most one batch of each kind per call
    assert sum(sweeps) == 7 + 3 and sweeps[-1] == 0
    assert await count(driver, messages) == 1
    assert await count(driver, claims) == 0
    assert await count(driver, outbox) == 2  # unpublished events are never swept
    reply = await driver.message_get(
        s.MessageGetRequest(project=project, queue="keep", message_id=keep[0])
    )
    assert reply.message.id == keep[0]


async def test_the_event_names_the_request_that_posted(
    make_driver: DriverFactory, fresh_database: str, project: str
) -> None:
    """The request id the RPC carried reaches the event, to join deliveries to their post."""
    driver = await make_driver(url=fresh_database)
    token = request_id_var.set("req-traced")
    try:
        await post(driver, project, "q", [1])
    finally:
        request_id_var.reset(token)
    await post(driver, project, "q", [2])  # outside any request: no id
    events = [
        MessagesPostedEvent.model_validate_json(row.payload)
        for row in await driver.outbox_pending(100, None)
    ]
    assert [event.request_id for event in events] == ["req-traced", None]


async def test_sweeper_removes_the_longest_expired_first(
    make_driver: DriverFactory, fresh_database: str, project: str, clock: ManualClock
) -> None:
    """Oldest first: the batch walks the expiry index (see sweep_expired)."""
    driver = await make_driver(url=fresh_database)
    for ttl in (300, 200, 100, 7200):  # stored in this order, due in the reverse one
        await post(driver, project, "q", [ttl], ttl=ttl)
    clock.advance(400)
    assert await driver.sweep_expired(1) == 1
    assert await count(driver, messages, messages.c.ttl == 100) == 0
    assert await driver.sweep_expired(1) == 1
    assert await count(driver, messages, messages.c.ttl == 200) == 0
    assert await count(driver, messages) == 2


async def test_the_outbox_delete_is_planned_on_the_event_id_index(
    request: pytest.FixtureRequest,
) -> None:
    """The outbox is empty whenever autovacuum looks at it, and the executor's generic plans are
    made from those statistics: the delete of published events was a sequential scan, kept while
    a minute of dead rows piled up (0.65 ms per post batch under load instead of ~0.05). Its
    sessions rule sequential scans out where an index serves. (PostgreSQL's only: it does not
    take the ``driver_kind`` parameters.)"""
    url = await new_database(request, "postgresql")
    text, _ = compile_statement(DELETE_EVENTS)
    async with await psycopg.AsyncConnection.connect(
        conninfo(url), options=EXECUTOR_OPTIONS, autocommit=True
    ) as conn:
        await conn.execute("VACUUM outbox")  # statistics of an empty table, as in production
        cursor = await conn.execute("EXPLAIN " + text, {"p_event_ids": ["a", "b"]}, prepare=True)
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    assert "Index Scan using outbox_event_id_key" in plan, plan
