"""Prometheus metrics of the notifier (served by tidings.common.metrics.router)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

DELIVERIES = Counter(
    "tidings_notifier_deliveries_total",
    "Notifications finished, by subscriber type (webhook, email) and outcome "
    "(delivered, given_up, skipped_unconfirmed)",
    ["subscriber_type", "outcome"],
)
ATTEMPTS = Counter(
    "tidings_notifier_delivery_attempts_total",
    "Delivery attempts, by subscriber type and result (ok, error, timeout, refused)",
    ["subscriber_type", "result"],
)
DELIVERY_LATENCY = Histogram(
    "tidings_notifier_delivery_latency_seconds",
    "From the commit of a message (storage clock) to its notification being accepted",
    ["subscriber_type"],
    buckets=DELIVERY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "tidings_notifier_consumer_pending_events",
    "Events in the stream the durable consumer has not handed out yet (num_pending)",
)
EVENTS_INFLIGHT = Gauge(
    "tidings_notifier_events_inflight", "Events this replica holds unacknowledged"
)
RETRIES_SCHEDULED = Gauge(
    "tidings_notifier_retries_scheduled", "Delivery retries waiting for their time"
)
CONFIRMATIONS = Counter(
    "tidings_notifier_confirmations_total",
    "Confirmation requests and unsubscribe notices sent, by kind and outcome",
    ["kind", "outcome"],
)
TRUST_TOKENS = Counter(
    "tidings_notifier_trust_tokens_total",
    "Trust-scoped tokens for trust+ deliveries, by outcome (issued, cached, refused, "
    "unavailable, wrong_project)",
    ["outcome"],
)
