"""Prometheus metrics of the websocket service (served by tidings.common.metrics.router)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from tidings.common.metrics import LATENCY_BUCKETS

OPEN_SOCKETS = Gauge("tidings_websocket_open_sockets", "WebSocket connections open")
FRAMES = Counter("tidings_websocket_frames_total", "Request frames answered", ["action", "status"])
FRAME_LATENCY = Histogram(
    "tidings_websocket_frame_duration_seconds",
    "Time to answer a request frame",
    ["action"],
    buckets=LATENCY_BUCKETS,
)
PUSHES = Counter("tidings_websocket_pushes_total", "Notification frames sent to sockets")
PUSH_LATENCY = Histogram(
    "tidings_websocket_push_latency_seconds",
    "From the commit of a message (storage clock) to its notification frame being sent",
    buckets=LATENCY_BUCKETS,
)
SLOW_CONSUMERS = Counter(
    "tidings_websocket_slow_consumer_closes_total",
    "Sockets closed because their send buffer overflowed",
)
QUEUE_SUBSCRIPTIONS = Gauge(
    "tidings_websocket_queue_subscriptions",
    "NATS subscriptions this replica holds for queues its sockets listen to",
)
