"""Guarantees 4 and 7 for notifications.

Guarantee 4: every committed message yields its notifications at least once, even when the
notifier and a storage replica are SIGKILLed mid-way; duplicates carry the same delivery id.

PostgreSQL with two storage replicas; the notifier and one storage replica are killed while
clients post, then restarted. Afterwards every acknowledged message must have reached both
webhook receivers, and each message must have kept one delivery id per receiver however often
it came.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict

import httpx
import pytest

from tests.fixtures.nats import NatsFactory
from tests.fixtures.suite import SuiteFactory
from tests.guarantees.load import headers, post_load
from tests.notifier.conftest import NOTIFIER_APP, notifier_env
from tests.notifier.receivers import HttpReceiver

pytestmark = pytest.mark.slow

DELIVERY_DEADLINE = 60.0


def delivery_ids_by_message(receiver: HttpReceiver) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for request in receiver.snapshot():
        seen[request.headers["X-Tidings-Message-Id"]].add(request.headers["X-Tidings-Delivery-Id"])
    return seen


async def test_notifications_survive_killing_the_notifier_and_a_storage_replica(
    suite_factory: SuiteFactory,
) -> None:
    suite = suite_factory(
        database="postgresql",
        storage_replicas=2,
        env={"TIDINGS_RPC_TIMEOUT": "3", "TIDINGS_OUTBOX_RETRY_AFTER": "1"},
        start=False,
    )
    notifier = suite.add(
        "notifier",
        NOTIFIER_APP,
        env=notifier_env(smtp_port=25, TIDINGS_PER_SUBSCRIBER_CONCURRENCY="16"),
    )
    suite.start()
    receivers = [HttpReceiver(), HttpReceiver()]
    project, queue = "notified", "events"
    try:
        async with httpx.AsyncClient(base_url=suite.api_url, headers=headers(project)) as http:
            for number, receiver in enumerate(receivers):
                response = await http.post(
                    f"/v2/queues/{queue}/subscriptions",
                    json={"subscriber": f"{receiver.url}/hook{number}"},
                )
                assert response.status_code == 201, response.text

        load = asyncio.create_task(
            post_load(suite.api_url, project, queue, clients=4, duration=6.0)
        )
        await asyncio.sleep(2.0)
        notifier.kill()
        suite.storage[0].kill()
        await asyncio.sleep(1.0)
        await asyncio.gather(notifier.restart_async(), suite.storage[0].restart_async())
        result = await load
        assert result.outcomes["201"] > 50, result.outcomes
        acked = set(result.acked)

        deadline = time.monotonic() + DELIVERY_DEADLINE
        missing: dict[int, set[str]] = {}
        while time.monotonic() < deadline:
            missing = {
                number: acked - set(delivery_ids_by_message(receiver))
                for number, receiver in enumerate(receivers)
            }
            if not any(missing.values()):
                break
            await asyncio.sleep(0.5)
        assert not any(missing.values()), {n: len(ids) for n, ids in missing.items()}

        for receiver in receivers:
            by_message = delivery_ids_by_message(receiver)
            assert all(len(ids) == 1 for ids in by_message.values()), "a duplicate changed its id"
        ids_per_receiver = [
            {next(iter(ids)) for ids in delivery_ids_by_message(r).values()} for r in receivers
        ]
        assert not ids_per_receiver[0] & ids_per_receiver[1]  # ids differ per subscription
    finally:
        for receiver in receivers:
            receiver.stop()


async def test_the_notifier_heals_after_a_nats_restart(
    suite_factory: SuiteFactory, nats_factory: NatsFactory
) -> None:
    """Guarantee 7 for the notifier: NATS is killed and started again (same store); the
    notifier keeps its process and delivers what is posted afterwards."""
    nats = nats_factory()
    suite = suite_factory(nats_url=nats.url, start=False)
    notifier = suite.add("notifier", NOTIFIER_APP, env=notifier_env(smtp_port=25))
    suite.start()
    receiver = HttpReceiver()
    project, queue = "notified-nats", "events"
    try:
        async with httpx.AsyncClient(
            base_url=suite.api_url, headers=headers(project), timeout=10
        ) as http:
            response = await http.post(
                f"/v2/queues/{queue}/subscriptions", json={"subscriber": receiver.url + "/n"}
            )
            assert response.status_code == 201, response.text
            before = await http.post(
                f"/v2/queues/{queue}/messages", json={"messages": [{"body": "before"}]}
            )
            assert before.status_code == 201
            await asyncio.to_thread(receiver.wait_for, lambda r: len(r) >= 1, 15)
            pid = notifier.pid
            nats.kill()
            await asyncio.sleep(0.5)
            nats.start()
            posted = False
            for _ in range(100):  # until storage and the api are back (bounded: ~20 s)
                after = await http.post(
                    f"/v2/queues/{queue}/messages", json={"messages": [{"body": "after"}]}
                )
                if after.status_code == 201:
                    posted = True
                    break
                await asyncio.sleep(0.2)
            assert posted, "the suite did not recover"
            # At least once: "before" may come again (an ack lost with the broker), "after"
            # must come.
            await asyncio.to_thread(
                receiver.wait_for,
                lambda got: any(json.loads(r.body)["body"] == "after" for r in got),
                30,
            )
            assert notifier.pid == pid and notifier.running
    finally:
        receiver.stop()
