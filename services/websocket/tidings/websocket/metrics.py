"""Prometheus metrics of the websocket service (served by tidings.common.metrics.router)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from tidings.common.metrics import LATENCY_BUCKETS

OPEN_SOCKETS = Gauge("tidings_websocket_open_sockets", "WebSocket connections open")
FRAMES = Counter("tidings_websocket_frames_total", "Request frames answered", ["action", "status"])
FRAME_LATENCY = Histogram(
    "tidings_websocket_frame_duration_seconds",
    "Time to answer a request frame",
    ["action"],
    buckets=LATENCY_BUCKETS,
)
PUSH_LATENCY = Histogram(
    "tidings_websocket_push_latency_seconds",
    "From the commit of a message (storage clock) to its notification frame being sent "
    "(sampled: one push in 16)",
    buckets=LATENCY_BUCKETS,
)


class PushTally:
    """Pushes sent, as a plain counter read at scrape time, and a sample of their latency.

    Why not a prometheus Counter and a Histogram observation per push: at 100,000 pushes a
    second their locks and bucket search cost about 2 us each push, a fifth of a core.
    """

    SAMPLE_EVERY = 16

    def __init__(self) -> None:
        self.sent = 0
        self.direct = 0  # of which written straight to the transport (wire.py)
        self._countdown = 1

    def record(self, created: float, frames: int = 1, direct: bool = False) -> None:
        """``frames`` pushes sent at once; ``created``: the commit time of the oldest."""
        self.sent += frames
        if direct:
            self.direct += frames
        self._countdown -= frames
        if self._countdown <= 0:
            self._countdown = self.SAMPLE_EVERY
            PUSH_LATENCY.observe(max(0.0, time.time() - created))

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "tidings_websocket_pushes", "Notification frames sent to sockets", value=self.sent
        )
        yield CounterMetricFamily(
            "tidings_websocket_direct_pushes",
            "Notification frames written straight to the socket's transport (no ASGI send)",
            value=self.direct,
        )


PUSHES = PushTally()
REGISTRY.register(PUSHES)
SLOW_CONSUMERS = Counter(
    "tidings_websocket_slow_consumer_closes_total",
    "Sockets closed because their send buffer overflowed",
)
QUEUE_SUBSCRIPTIONS = Gauge(
    "tidings_websocket_queue_subscriptions",
    "NATS subscriptions this replica holds for queues its sockets listen to",
)
