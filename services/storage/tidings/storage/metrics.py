"""Prometheus metrics of the storage service (exposed by tidings.common.metrics.router)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tidings.common.metrics import LATENCY_BUCKETS

QUERY_LATENCY = Histogram(
    "tidings_storage_query_duration_seconds",
    "Time a storage operation spent in the database, by operation",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
MESSAGES_POSTED = Counter("tidings_messages_posted_total", "Messages committed by posts")
MESSAGES_CLAIMED = Counter("tidings_messages_claimed_total", "Messages handed out by claims")
MESSAGES_DELETED = Counter(
    "tidings_messages_deleted_total", "Messages deleted by clients (single, bulk, pop)"
)
GROUP_COMMIT_BATCH = Histogram(
    "tidings_storage_group_commit_batch_size",
    "Requests committed together in one group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
OUTBOX_PUBLISHED = Counter("tidings_outbox_published_total", "Outbox events published")
SWEPT_ROWS = Counter("tidings_storage_swept_rows_total", "Expired rows removed by the sweeper")
QUOTA_REJECTIONS = Counter(
    "tidings_quota_rejections_total",
    "Writes refused because they would take a project over a quota, by quota",
    ["kind"],
)
QUOTA_RECOUNTS = Counter(
    "tidings_quota_recounts_total",
    "Exact recounts of a project's stored messages, made when a post reached its quota",
)
