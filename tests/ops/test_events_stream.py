"""The events stream's limits: JetStream keeps an event (with every posted body) for
``TIDINGS_EVENTS_MAX_AGE`` seconds and at most ``TIDINGS_EVENTS_MAX_BYTES``, oldest dropped
first, instead of forever; a stream made by an older version gets the limits when storage
starts."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from tests.fixtures.nats import NatsFactory
from tidings.common.subjects import EVENTS_PREFIX, EVENTS_STREAM
from tidings.storage.outbox import EventsRetention, ensure_events_stream

SUBJECT = f"{EVENTS_PREFIX}.project.queue.messages_posted"


async def connect(nats_factory: NatsFactory) -> NATS:
    return await nats.connect(nats_factory().url, connect_timeout=5)


async def test_a_new_stream_has_the_limits(nats_factory: NatsFactory) -> None:
    client = await connect(nats_factory)
    try:
        await ensure_events_stream(client, EventsRetention(120.0, 3600.0, 10_000_000))
        await ensure_events_stream(client, EventsRetention(120.0, 3600.0, 10_000_000))  # again
        config = (await client.jetstream().stream_info(EVENTS_STREAM)).config
    finally:
        await client.close()
    assert (config.max_age, config.max_bytes, config.duplicate_window) == (3600.0, 10_000_000, 120)
    assert config.discard == DiscardPolicy.OLD
    assert config.storage == StorageType.FILE


async def test_a_stream_without_limits_gets_them_and_keeps_its_events(
    nats_factory: NatsFactory,
) -> None:
    client = await connect(nats_factory)
    js = client.jetstream()
    try:
        # What storage created before the limits existed.
        await js.add_stream(
            StreamConfig(
                name=EVENTS_STREAM,
                subjects=[f"{EVENTS_PREFIX}.>"],
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
        await js.publish(SUBJECT, b"{}", headers={"Nats-Msg-Id": "before"})
        assert not (await js.stream_info(EVENTS_STREAM)).config.max_age
        await ensure_events_stream(client, EventsRetention(60.0, 7200.0))
        info = await js.stream_info(EVENTS_STREAM)
    finally:
        await client.close()
    assert (info.config.max_age, info.config.max_bytes) == (7200.0, -1)
    assert info.config.duplicate_window == 60.0
    assert info.state.messages == 1


async def test_old_events_go_by_age_and_by_size(nats_factory: NatsFactory) -> None:
    client = await connect(nats_factory)
    js = client.jetstream()
    try:
        # A duplicate window longer than the age is cut to it (JetStream refuses it otherwise).
        await ensure_events_stream(client, EventsRetention(120.0, 1.0, 20_000))
        assert (await js.stream_info(EVENTS_STREAM)).config.duplicate_window == 1.0
        for n in range(40):  # ~41 KB of events into a 20 KB stream
            await js.publish(SUBJECT, b"x" * 1000, headers={"Nats-Msg-Id": f"e{n}"})
        state = (await js.stream_info(EVENTS_STREAM)).state
        assert state.bytes <= 20_000
        assert state.first_seq > 1 and state.last_seq == 40  # the oldest went first
        for _ in range(50):  # max_age is 1 s: give JetStream up to 10 s to expire them
            if not (await js.stream_info(EVENTS_STREAM)).state.messages:
                break
            await asyncio.sleep(0.2)
        assert (await js.stream_info(EVENTS_STREAM)).state.messages == 0
    finally:
        await client.close()
