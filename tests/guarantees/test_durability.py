"""Guarantee 1: a message acknowledged with 201 is never lost, even when a storage replica is
SIGKILLed under load (PostgreSQL, two storage replicas, the killed one restarted) or NATS is
killed and restarted under load."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fixtures.nats import NatsFactory
from tests.fixtures.suite import SuiteFactory
from tests.guarantees.load import assert_acknowledged_stored, post_load

pytestmark = pytest.mark.slow


async def test_acknowledged_posts_survive_a_storage_kill(suite_factory: SuiteFactory) -> None:
    suite = suite_factory(
        database="postgresql", storage_replicas=2, env={"TIDINGS_RPC_TIMEOUT": "3"}
    )
    project, queue = "durable", "orders"
    load = asyncio.create_task(post_load(suite.api_url, project, queue, clients=8, duration=6.0))

    await asyncio.sleep(1.5)
    victim = suite.storage[0]
    victim.kill()
    killed_at = time.monotonic()
    await asyncio.sleep(1.0)  # the survivor alone carries the load for a while
    await victim.restart_async()
    result = await load

    assert result.outcomes["201"] > 50, result.outcomes
    assert any(at > killed_at for at in result.acked_at), "no post succeeded after the kill"
    await assert_acknowledged_stored(suite.api_url, project, queue, result)


async def test_acknowledged_posts_survive_a_nats_restart(
    suite_factory: SuiteFactory, nats_factory: NatsFactory
) -> None:
    nats = nats_factory()
    suite = suite_factory(nats_url=nats.url, env={"TIDINGS_RPC_TIMEOUT": "3"})
    project, queue = "durable-nats", "orders"
    load = asyncio.create_task(post_load(suite.api_url, project, queue, clients=8, duration=6.0))

    await asyncio.sleep(1.5)
    nats.kill()  # replies in flight are lost; what was committed must stay
    killed_at = time.monotonic()
    await asyncio.sleep(1.0)
    nats.start()
    result = await load

    assert any(at > killed_at + 1.0 for at in result.acked_at), (
        f"no post succeeded after NATS came back: {result.outcomes}"
    )
    await assert_acknowledged_stored(suite.api_url, project, queue, result)
