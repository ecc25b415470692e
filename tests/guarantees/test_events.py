"""Events: every committed post yields exactly its event in the JetStream stream, even when
the storage replica that committed it is SIGKILLed before it could publish.

The test posts under load to two storage replicas on PostgreSQL, kills one mid-way (its outbox
rows are left to the other replica's relay and to its own restart), then reads the stream
``TIDINGS_EVENTS`` with nats-py and compares message ids with the 201s and the stored ids.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import nats
import pytest
import sqlalchemy as sa
from nats.js.api import DeliverPolicy
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.suite import SuiteFactory
from tests.guarantees.load import assert_acknowledged_stored, post_load
from tidings.common.events import MessagesPostedEvent
from tidings.common.subjects import EVENTS_STREAM, queue_events_filter
from tidings.storage.tables import outbox

pytestmark = pytest.mark.slow

HEADERS = {"Client-ID": "0b3b1f5e-5a7e-4d4c-9a43-2f1d7c5e8a10", "X-Project-ID": "events"}
SETTLE = 30.0  # seconds the relays may take to publish what the killed replica left


async def read_events(nats_url: str, project: str, queue: str) -> list[MessagesPostedEvent]:
    """Every event of the queue now in the stream, read with an ordered (ephemeral) consumer."""
    client = await nats.connect(nats_url, connect_timeout=5)
    try:
        js = client.jetstream()
        info = await js.stream_info(EVENTS_STREAM)
        subject = queue_events_filter(project, queue)
        subscription = await js.subscribe(
            subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        events: list[MessagesPostedEvent] = []
        for _ in range(info.state.messages):  # bounded by what the stream holds
            try:
                msg = await subscription.next_msg(timeout=2)
            except nats.errors.TimeoutError:
                break
            events.append(MessagesPostedEvent.model_validate_json(msg.data))
        await subscription.unsubscribe()
        return events
    finally:
        await client.close()


def message_ids(events: list[MessagesPostedEvent]) -> Counter[str]:
    return Counter(message.id for event in events for message in event.messages)


async def test_each_committed_post_yields_its_event_once(suite_factory: SuiteFactory) -> None:
    suite = suite_factory(
        database="postgresql",
        storage_replicas=2,
        env={"TIDINGS_OUTBOX_RETRY_AFTER": "1", "TIDINGS_RPC_TIMEOUT": "3"},
    )
    project, queue = "events", "audit"
    load = asyncio.create_task(post_load(suite.api_url, project, queue, clients=8, duration=5.0))
    await asyncio.sleep(1.5)
    suite.storage[0].kill()
    await asyncio.sleep(1.0)
    await suite.storage[0].restart_async()
    result = await load
    assert result.outcomes["201"] > 50, result.outcomes

    stored = await assert_acknowledged_stored(suite.api_url, project, queue, result)

    deadline = time.monotonic() + SETTLE
    while True:
        events = await read_events(suite.nats_url, project, queue)
        published = message_ids(events)
        if set(published) >= stored or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)

    assert set(published) == stored, (
        f"{len(stored - set(published))} committed messages have no event, "
        f"{len(set(published) - stored)} events name no stored message"
    )
    duplicated = [message_id for message_id, count in published.items() if count > 1]
    assert not duplicated, f"{len(duplicated)} messages published twice"
    assert len({event.event_id for event in events}) == len(events)
    assert all(event.project == project and event.queue == queue for event in events)
    # Published rows leave the outbox: with a later post batch, or deleted by the relay itself
    # once the posts stopped.
    assert suite.database_url is not None
    assert await outbox_rows_once_settled(suite.database_url, within=10.0) == 0


async def test_published_rows_leave_the_outbox_when_posts_stop(
    suite_factory: SuiteFactory,
) -> None:
    """The last batch's rows have no later batch to take them along: the relay deletes them
    itself, long before a straggler pass (an hour away here) would publish them again."""
    suite = suite_factory(database="postgresql", env={"TIDINGS_OUTBOX_RETRY_AFTER": "3600"})
    assert suite.database_url is not None
    async with httpx.AsyncClient(base_url=suite.api_url, headers=HEADERS) as client:
        for batch in range(3):
            posted = await client.post(
                "/v2/queues/quiet/messages", json={"messages": [{"body": batch, "ttl": 60}]}
            )
            assert posted.status_code == 201, posted.text
    assert await outbox_rows_once_settled(suite.database_url, within=5.0) == 0


async def outbox_rows_once_settled(database_url: str, within: float) -> int:
    engine = create_async_engine(database_url)
    deadline = time.monotonic() + within
    try:
        while True:
            async with engine.connect() as conn:
                left = int(await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) or 0)
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.25)
    finally:
        await engine.dispose()
