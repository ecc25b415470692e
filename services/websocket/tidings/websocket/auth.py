"""The authentication seam of the WebSocket API (spec 5.4, 5.5, 6.4).

The socket loop asks an :class:`Authenticator` who a frame acts for (:meth:`identify`: a
project and roles, or None for 403 "Not authentified.") and hands it ``authenticate`` frames.

- ``noauth`` (development): every frame acts for its own ``X-Project-ID`` and ``X-Roles``.
- ``keystone``: nothing but ``authenticate`` is served until the socket presents a token
  Keystone accepts; from then on every frame acts for the token's project with the token's
  roles, whatever its headers say (Zaqar used the per-frame header, spec 5.4). When the token
  expires the socket is closed with 4003 "Authentication expired."; a token Keystone stops
  accepting (revoked) is noticed within the validation cache time and ends the socket too.

In both modes a frame with a non-empty ``URL-Signature`` is a pre-signed frame (spec 6.4) when
it does not ride on an authenticated Keystone session: only message actions, each needing its
method, on a queue whose messages path the signature covers (Zaqar did not bind the queue in
the body, spec 9 item 17), for the signed project.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tidings.common.errors import TidingsError
from tidings.common.keystone import InvalidToken, TokenInfo, TokenValidator
from tidings.common.signed_url import SignedRequest
from tidings.websocket.errors import error_reply
from tidings.websocket.protocol import Reply, Request
from tidings.websocket.settings import WebsocketSettings

log = logging.getLogger(__name__)

NOT_AUTHENTIFIED = "Not authentified."
AUTHENTIFIED = "Authentified."
AUTHENTICATION_FAILED = "Authentication failed."
AUTH_EXPIRED_CODE = 4003
AUTH_EXPIRED_REASON = "Authentication expired."

# The actions a signature may authorise, and the method each needs (spec 6.4).
SIGNED_ACTIONS = {
    "message_list": "GET",
    "message_get": "GET",
    "message_get_many": "GET",
    "message_post": "POST",
    "message_delete": "DELETE",
    "message_delete_many": "DELETE",
}


@dataclass(frozen=True, slots=True)
class FrameIdentity:
    project: str
    roles: list[str]
    # keystone mode: the socket's user and token, which trust+ subscriptions delegate with
    user: str | None = None
    token: str | None = field(default=None, repr=False)


@dataclass
class AuthState:
    """What a socket's authentication established (per socket)."""

    on_expiry: Callable[[], None] | None = None  # closes the socket with 4003
    authenticated: bool = False
    token: str | None = field(default=None, repr=False)
    info: TokenInfo | None = None
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def start(self, token: str, info: TokenInfo) -> None:
        self.clear()
        self.authenticated, self.token, self.info = True, token, info
        delay = (info.expires - datetime.datetime.now(datetime.UTC)).total_seconds()
        self._timer = asyncio.get_running_loop().call_later(max(0.0, delay), self.expire)

    def expire(self) -> None:
        self.clear()
        if self.on_expiry is not None:
            self.on_expiry()

    def clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self.authenticated, self.token, self.info = False, None, None


class Authenticator(Protocol):
    async def authenticate(self, request: Request, state: AuthState) -> Reply: ...

    async def identify(self, request: Request, state: AuthState) -> FrameIdentity | None:
        """Who the frame acts for; None when it may not be served (403)."""
        ...


def signed_identity(request: Request, secret_key: str | None) -> FrameIdentity | None:
    """The identity a pre-signed frame grants, or None."""
    headers = request.headers if isinstance(request.headers, dict) else {}
    signed = SignedRequest.from_frame_headers(headers)
    if signed is None or signed.project is None:
        return None
    method = SIGNED_ACTIONS.get(request.action) if isinstance(request.action, str) else None
    body = request.body if isinstance(request.body, dict) else {}
    queue = body.get("queue_name")
    if method is None or not isinstance(queue, str) or "/" in queue:
        return None
    path = f"/v2/queues/{queue}/messages"
    message_id = body.get("message_id")
    if request.action in ("message_get", "message_delete") and isinstance(message_id, str):
        path = f"{path}/{message_id}"
    now = datetime.datetime.now(datetime.UTC)
    if not signed.grants(secret_key, method, path, now):
        return None
    return FrameIdentity(project=signed.project, roles=[])


def has_signature(request: Request) -> bool:
    return isinstance(request.headers, dict) and bool(request.headers.get("URL-Signature"))


class NoAuth:
    """Development mode: no token; project and roles come from each frame's headers."""

    def __init__(self, secret_key: str | None = None) -> None:
        self._key = secret_key

    async def authenticate(self, request: Request, state: AuthState) -> Reply:
        # Zaqar leaves `authenticate` unsupported in noauth mode; python-zaqarclient's
        # WebSocket transport always sends it first, so it is accepted as a no-op.
        state.authenticated = True
        return Reply(200, {"message": AUTHENTIFIED})

    async def identify(self, request: Request, state: AuthState) -> FrameIdentity | None:
        if has_signature(request):  # a bad signature is refused, as over REST
            return signed_identity(request, self._key)
        headers: dict[str, Any] = request.headers
        raw = headers.get("X-Roles")
        roles = [r.strip() for r in raw.split(",") if r.strip()] if isinstance(raw, str) else []
        return FrameIdentity(project=str(headers["X-Project-ID"]), roles=roles)


class KeystoneAuth:
    def __init__(self, validator: TokenValidator, secret_key: str | None = None) -> None:
        self._validator = validator
        self._key = secret_key

    async def authenticate(self, request: Request, state: AuthState) -> Reply:
        token = request.headers.get("X-Auth-Token") if isinstance(request.headers, dict) else None
        state.clear()  # a failed re-authentication leaves no session behind
        if not isinstance(token, str) or not token:
            return Reply(401, {"error": AUTHENTICATION_FAILED})
        try:
            info = await self._validator.validate(token)
        except InvalidToken:
            return Reply(401, {"error": AUTHENTICATION_FAILED})
        except TidingsError as exc:  # Keystone unreachable: 503, the client may retry
            return error_reply(exc)
        if info.project is None or info.expired():
            return Reply(401, {"error": AUTHENTICATION_FAILED})
        state.start(token, info)
        return Reply(200, {"message": AUTHENTIFIED})

    async def identify(self, request: Request, state: AuthState) -> FrameIdentity | None:
        if state.token is None or state.info is None:
            return signed_identity(request, self._key) if has_signature(request) else None
        if state.info.expired():
            state.expire()
            return None
        try:
            # Cached: Keystone is asked again once per cache period, which is how a revoked
            # token ends the session.
            info = await self._validator.validate(state.token)
        except InvalidToken:
            log.info("token of an open socket is no longer valid; closing it")
            state.expire()
            return None
        if info.project is None:
            return None
        return FrameIdentity(
            project=info.project, roles=sorted(info.roles), user=info.user, token=state.token
        )


def build_authenticator(
    settings: WebsocketSettings, validator: TokenValidator | None = None
) -> Authenticator:
    if settings.auth_strategy == "noauth":
        return NoAuth(settings.signed_url_secret_key)
    if settings.auth_strategy == "keystone":
        return KeystoneAuth(validator or TokenValidator(settings), settings.signed_url_secret_key)
    raise ValueError(f"unknown auth strategy {settings.auth_strategy!r}")
