"""Fan-out batching over a real NATS: with a push window, a busy queue's events are gathered
into one delivery per window (one write per socket); an event after a quiet spell goes at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from tidings.common.events import MESSAGES_POSTED, MessagesPostedEvent, PostedMessage
from tidings.common.nats_connection import NatsConnection
from tidings.common.subjects import event_subject
from tidings.websocket.fanout import Fanout
from tidings.websocket.notifications import Batch

WINDOW = 0.5  # seconds; long against loopback NATS delivery even on a busy CI machine


class Recorder:
    """A fan-out listener that keeps what it was given, batch by batch, with arrival times."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[str]]] = []
        self.arrived = asyncio.Event()

    def deliver(self, batch: Batch, now: float) -> None:
        self.batches.append((time.monotonic(), [n.message.id for n in batch.items]))
        self.arrived.set()

    def ids(self) -> list[str]:
        return [message_id for _, batch in self.batches for message_id in batch]

    async def until(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.ids()) < count:
                self.arrived.clear()
                await self.arrived.wait()


def _event(project: str, queue: str, message_id: str) -> bytes:
    event = MessagesPostedEvent(
        event_id=uuid.uuid4().hex,
        project=project,
        queue=queue,
        client_id="c",
        created=time.time(),
        messages=[PostedMessage(id=message_id, body={"id": message_id}, ttl=60)],
    )
    return event.model_dump_json().encode()


async def test_a_push_window_gathers_a_busy_queues_events(nats_url: str) -> None:
    connection = NatsConnection(nats_url, "test-fanout")
    connection.start()
    try:
        assert await connection.wait_connected(5)
        client = connection.client
        assert client is not None
        fanout = Fanout(connection, WINDOW)
        project, queue = "p", f"q{uuid.uuid4().hex[:8]}"
        recorder = Recorder()
        await fanout.add(project, queue, recorder)
        subject = event_subject(project, queue, MESSAGES_POSTED)

        # After a quiet spell the first event goes at once; the next ones, published right
        # after it, wait for the window's end and arrive together, in order.
        started = time.monotonic()
        for index in range(4):
            await client.publish(subject, _event(project, queue, f"m{index}"))
            await client.flush()
            if index == 0:
                await recorder.until(1)
        await recorder.until(4)
        assert recorder.ids() == ["m0", "m1", "m2", "m3"]
        assert [batch for _, batch in recorder.batches] == [["m0"], ["m1", "m2", "m3"]]
        first_at, second_at = recorder.batches[0][0], recorder.batches[1][0]
        assert first_at - started < WINDOW / 2
        assert second_at - first_at >= WINDOW * 0.9

        # A quiet spell again: the next event is not held back.
        await asyncio.sleep(WINDOW)
        sent = time.monotonic()
        await client.publish(subject, _event(project, queue, "m4"))
        await recorder.until(5)
        assert recorder.batches[-1][1] == ["m4"]
        assert recorder.batches[-1][0] - sent < WINDOW / 2
        await fanout.remove(project, queue, recorder)
    finally:
        await connection.close()
