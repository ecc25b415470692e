"""Pure ASGI middleware: a request id on every response, the request's trace context, and
HTTP metrics by route template.

Written as raw ASGI rather than BaseHTTPMiddleware, which costs a task and a stream per
request. The route label is the matched route's template (``/v2/queues/{queue_name}``), read
from the scope after routing; unmatched paths share one label so cardinality stays bounded.
With tracing on, each request is a server span under the gateway's ``traceparent`` (a new
trace without one); off, that ``traceparent`` is only passed on (:mod:`tidings.common.tracing`).
"""

from __future__ import annotations

import re
import time
import uuid

from opentelemetry.trace import Span, SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.common import metrics, tracing
from tidings.common.logging import request_id_var

REQUEST_ID_HEADER = b"x-openstack-request-id"
# The id a gateway gives the request (ingress-nginx and Envoy send X-Request-ID): adopted, so
# one id links the gateway's access log, our logs on every service and the response header.
GATEWAY_REQUEST_ID_HEADER = b"x-request-id"
_GATEWAY_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")
TRACEPARENT_HEADER = b"traceparent"
TRACESTATE_HEADER = b"tracestate"
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, parent = request_context(scope)
        token = request_id_var.set(request_id)
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        if tracing.enabled():
            with tracing.span(method, parent, kind=SpanKind.SERVER) as span:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    template = self._record(scope, method, status, started)
                    if span is not None:
                        _describe(span, method, template, status, request_id)
                    request_id_var.reset(token)
            return
        passing = tracing.pass_on(parent)  # off: the gateway's context is only passed on
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, method, status, started)
            tracing.stop_passing_on(passing)
            request_id_var.reset(token)

    @staticmethod
    def _record(scope: Scope, method: str, status: int, started: float) -> str:
        route = scope.get("route")
        template: str = getattr(route, "path", None) or UNMATCHED_ROUTE
        metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
        metrics.HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)
        return template


def _describe(span: Span, method: str, template: str, status: int, request_id: str) -> None:
    span.update_name(f"{method} {template}")
    span.set_attribute("http.request.method", method)
    span.set_attribute("http.route", template)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("tidings.request_id", request_id)
    if status >= 500:
        span.set_status(StatusCode.ERROR)


def request_context(scope: Scope) -> tuple[str, tracing.TraceHeaders | None]:
    """The request id and the trace context the request came with, in one pass over headers.

    The id is ``req-`` and the gateway's id when it sent a well-formed one, else a fresh uuid.
    """
    gateway_id = traceparent = tracestate = None
    for name, value in scope.get("headers", ()):
        if name == GATEWAY_REQUEST_ID_HEADER:
            gateway_id = value
        elif name == TRACEPARENT_HEADER:
            traceparent = value
        elif name == TRACESTATE_HEADER:
            tracestate = value
    if gateway_id is not None and _GATEWAY_REQUEST_ID.match(gateway_id):
        request_id = f"req-{gateway_id.decode()}"
    else:
        request_id = f"req-{uuid.uuid4()}"
    if traceparent is None:
        return request_id, None
    parent = tracing.TraceHeaders.parse(
        traceparent.decode("latin-1"),
        tracestate.decode("latin-1") if tracestate is not None else None,
    )
    return request_id, parent
