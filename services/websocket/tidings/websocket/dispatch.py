"""From a frame to its reply: decoding, action lookup, schema, authentication, the handler.

The order is Zaqar's (spec 5.2): undecodable frame, non-object, unknown action, schema
mismatch, then authentication, then the handler, whose typed errors become
``{"exception", "error"}`` bodies through the one status table of :mod:`.errors`.
"""

from __future__ import annotations

import logging
import time

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
        try:
            return await entry.handler(ctx)
        except TidingsError as exc:
            return error_reply(exc)
        except Exception as exc:  # answered 500 with Zaqar's body; the socket stays open
            log.exception("action %s failed", action)
            return unexpected_reply(exc)
