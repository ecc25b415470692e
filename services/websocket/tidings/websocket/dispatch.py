"""From a frame to its reply: decoding, action lookup, schema, authentication, the handler.

The order is Zaqar's (spec 5.2): undecodable frame, non-object, unknown action, schema
mismatch, then authentication, then the handler, whose typed errors become
``{"exception", "error"}`` bodies through the one status table of :mod:`.errors`.

A frame may carry W3C trace context among its headers (``traceparent``, ``tracestate``, any
case), as an HTTP request does: its action runs in a server span under it (tracing on) or
passes it on (off), so the storage call, the event of a post and the deliveries it leads to
join the caller's trace, as they do for REST.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from tidings.common import tracing
from tidings.common.errors import TidingsError
from tidings.common.policy import Policy
from tidings.common.rpc import StorageClient
from tidings.common.subscription_trusts import Caller, SubscriptionTrusts
from tidings.websocket import metrics
from tidings.websocket.actions import ACTIONS, AUTHENTICATE, AUTHENTICATE_SCHEMA, Context
from tidings.websocket.auth import NOT_AUTHENTIFIED, Authenticator, AuthState
from tidings.websocket.errors import error_reply, unexpected_reply
from tidings.websocket.protocol import FrameError, Reply, Request, decode_frame
from tidings.websocket.rules import ACTION_RULES
from tidings.websocket.schema import SCHEMA_FAILED
from tidings.websocket.session import Session
from tidings.websocket.settings import WebsocketSettings
from tidings.websocket.subscriptions import SocketSubscriptions

log = logging.getLogger(__name__)

_TRACE_HEADERS = (tracing.TRACEPARENT, tracing.TRACESTATE)


def frame_trace_context(headers: Mapping[Any, Any]) -> tracing.TraceHeaders | None:
    """The trace context among a frame's headers; None when absent or malformed."""
    found = {
        key.lower(): value
        for key, value in headers.items()
        if isinstance(key, str) and isinstance(value, str) and key.lower() in _TRACE_HEADERS
    }
    return tracing.from_headers(found)


class Dispatcher:
    def __init__(
        self,
        settings: WebsocketSettings,
        storage: StorageClient,
        authenticator: Authenticator,
        policy: Policy,
        trusts: SubscriptionTrusts | None = None,
    ) -> None:
        self._settings = settings
        self._storage = storage
        self._auth = authenticator
        self._policy = policy
        self._trusts = trusts or SubscriptionTrusts(None)

    async def handle(
        self,
        data: str | bytes,
        session: Session,
        subscriptions: SocketSubscriptions,
        auth: AuthState,
    ) -> tuple[Request, Reply]:
        started = time.perf_counter()
        try:
            request = decode_frame(data)
        except FrameError as exc:
            metrics.FRAMES.labels("undecodable", str(exc.reply.status)).inc()
            return exc.request, exc.reply
        reply = await self._answer(request, session, subscriptions, auth)
        label = (
            request.action
            if request.action in ACTIONS or (request.action == AUTHENTICATE)
            else "unknown"
        )
        metrics.FRAMES.labels(label, str(reply.status)).inc()
        metrics.FRAME_LATENCY.labels(label).observe(time.perf_counter() - started)
        return request, reply

    async def _answer(
        self,
        request: Request,
        session: Session,
        subscriptions: SocketSubscriptions,
        auth: AuthState,
    ) -> Reply:
        action = request.action
        if action == AUTHENTICATE:
            if not AUTHENTICATE_SCHEMA.accepts(request.headers, request.body, request.body_sent):
                return Reply(400, {"error": SCHEMA_FAILED})
            reply = await self._auth.authenticate(request, auth)
            # Never echo a token back (Zaqar answers authenticate with empty echoes too).
            request.headers, request.body = {}, {}
            return reply
        entry = ACTIONS.get(action) if isinstance(action, str) else None
        if entry is None:
            return Reply(400, {"error": f"{action} is not a valid action"})
        if not entry.schema.accepts(request.headers, request.body, request.body_sent):
            return Reply(400, {"error": SCHEMA_FAILED})
        try:
            identity = await self._auth.identify(request, auth)
        except TidingsError as exc:  # e.g. Keystone unreachable while revalidating: 503
            return error_reply(exc)
        if identity is None:
            return Reply(403, {"error": NOT_AUTHENTIFIED})
        try:
            entry.available(self._settings)
            rule = ACTION_RULES.get(action)
            if rule != "":  # "" : no rule governs it (the home document)
                self._policy.check(rule, identity)
        except TidingsError as exc:
            return error_reply(exc)
        ctx = Context(
            request=request,
            headers=request.headers,
            body=request.body if isinstance(request.body, dict) else {},
            project=identity.project,
            roles=identity.roles,
            settings=self._settings,
            storage=self._storage,
            session=session,
            subscriptions=subscriptions,
            trusts=self._trusts,
            caller=Caller(
                identity.user, identity.project, frozenset(identity.roles), identity.token
            ),
        )
        parent = frame_trace_context(request.headers)
        with tracing.span(f"websocket {action}", parent, kind=SpanKind.SERVER) as span:
            try:
                reply = await entry.handler(ctx)
            except TidingsError as exc:
                reply = error_reply(exc)
            except Exception as exc:  # answered 500 with Zaqar's body; the socket stays open
                log.exception("action %s failed", action)
                reply = unexpected_reply(exc)
            if span is not None:
                span.set_attribute("tidings.status", reply.status)
        return reply
