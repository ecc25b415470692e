"""Pure ASGI middleware: a request id on every response and HTTP metrics by route template.

Written as raw ASGI rather than BaseHTTPMiddleware, which costs a task and a stream per
request. The route label is the matched route's template (``/v2/queues/{queue_name}``), read
from the scope after routing; unmatched paths share one label so cardinality stays bounded.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.common import metrics
from tidings.common.logging import request_id_var

REQUEST_ID_HEADER = b"x-openstack-request-id"
# The id a gateway gives the request (ingress-nginx and Envoy send X-Request-ID): adopted, so
# one id links the gateway's access log, our logs on every service and the response header.
GATEWAY_REQUEST_ID_HEADER = b"x-request-id"
_GATEWAY_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
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

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)
            request_id_var.reset(token)


def request_id_for(scope: Scope) -> str:
    """``req-`` and the gateway's id when it sent a well-formed one, else a fresh uuid."""
    for name, value in scope.get("headers", ()):
        if name == GATEWAY_REQUEST_ID_HEADER and _GATEWAY_REQUEST_ID.match(value):
            return f"req-{value.decode()}"
    return f"req-{uuid.uuid4()}"
