"""Prometheus metrics of the REST api service (exposed by tidings.common.metrics.router)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RATE_LIMITED = Counter(
    "tidings_rate_limited_requests_total",
    "Requests refused with 429 because their project was over its request rate",
)
RATE_LIMIT_REPORTS = Counter(
    "tidings_rate_limit_reports_total",
    "Admission reports exchanged with the other api replicas, by direction",
    ["direction"],
)
RATE_LIMIT_PROJECTS = Gauge(
    "tidings_rate_limit_tracked_projects",
    "Projects with a rate-limit bucket in this replica (buckets that refilled are dropped)",
)
