"""Prometheus metric families shared by the services, and the ``/metrics`` endpoint.

Labels stay bounded: operations and route templates are fixed sets, never raw paths.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "tidings_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "tidings_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
RPC_CALLS = Counter(
    "tidings_rpc_calls_total", "Storage RPC calls made, by outcome", ["operation", "outcome"]
)
RPC_LATENCY = Histogram(
    "tidings_rpc_call_duration_seconds",
    "Round trip of a storage RPC call",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
RPC_SERVED = Counter(
    "tidings_rpc_served_total", "Storage RPC requests served, by outcome", ["operation", "outcome"]
)
RPC_SERVE_LATENCY = Histogram(
    "tidings_rpc_serve_duration_seconds",
    "Time storage spent serving an RPC request",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
