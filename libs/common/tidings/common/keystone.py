"""Keystone token validation as the service user, with a bounded cache.

The api and the websocket service hand every token to :class:`TokenValidator`. It validates
through ``python-keystoneclient`` on a ``keystoneauth1`` session authenticated as the service
user of :class:`~tidings.common.auth_settings.AuthSettings` (keystoneauth re-authenticates
that user by itself when its own token runs out). The blocking client runs in a worker thread.

A validation is reused for ``token_cache_time`` seconds, never beyond the token's expiry;
at most ``token_cache_size`` are kept (least recently used first out). Concurrent requests
with the same token share one validation. Cache keys are SHA-256 digests, so the cache holds
no usable token.

Outcomes: a :class:`TokenInfo`; :class:`InvalidToken` when Keystone does not know the token
(unknown, expired, revoked: 401 to the caller); :class:`ServiceUnavailable` when Keystone
cannot answer (503).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tidings.common.auth_settings import AuthSettings, KeystoneSettings
from tidings.common.errors import ServiceUnavailable
from tidings.common.single_flight import SingleFlight

log = logging.getLogger(__name__)

KEYSTONE_UNAVAILABLE = "Keystone is unavailable."
# Keystone cannot answer (as opposed to refusing): a 503, or a retry, never the caller's fault.
UNREACHABLE = (
    ks_exceptions.ConnectionError,
    ks_exceptions.DiscoveryFailure,
    ks_exceptions.HttpServerError,
)


class InvalidToken(Exception):
    """Keystone does not accept the token."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    project: str | None  # None for tokens not scoped to a project
    user: str | None
    roles: frozenset[str]
    expires: datetime.datetime  # aware, UTC

    def expired(self, now: datetime.datetime | None = None) -> bool:
        return self.expires <= (now or datetime.datetime.now(datetime.UTC))


def service_user_auth(settings: KeystoneSettings, trust_id: str | None = None) -> v3.Password:
    """The service user's password plugin: scoped to its own project, or, given a trust id,
    to that trust (the trustee's side of a ``trust+`` subscription)."""
    if trust_id is not None:
        return v3.Password(
            auth_url=settings.keystone_auth_url or "",
            username=settings.keystone_username,
            password=settings.keystone_password or "",
            user_domain_name=settings.keystone_user_domain_name,
            trust_id=trust_id,
        )
    return v3.Password(
        auth_url=settings.keystone_auth_url or "",
        username=settings.keystone_username,
        password=settings.keystone_password or "",
        project_name=settings.keystone_project_name,
        user_domain_name=settings.keystone_user_domain_name,
        project_domain_name=settings.keystone_project_domain_name,
    )


def _client_for(settings: AuthSettings) -> Any:
    from keystoneclient.v3 import client as ks_client  # untyped; imported where it is used

    session = ks_session.Session(
        auth=service_user_auth(settings), timeout=settings.keystone_timeout
    )
    return ks_client.Client(session=session, interface="public")


class TokenValidator:
    def __init__(
        self,
        settings: AuthSettings,
        client_factory: Callable[[AuthSettings], Any] = _client_for,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._client_factory = client_factory
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[TokenInfo, float]] = OrderedDict()
        self._inflight: SingleFlight[bytes, TokenInfo] = SingleFlight()

    @property
    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` value of a 401, as keystonemiddleware words it."""
        return f'Keystone uri="{self._settings.keystone_auth_url}"'

    async def validate(self, token: str) -> TokenInfo:
        key = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        cached = self._cached(key)
        if cached is not None:
            return cached
        info = await self._inflight.run(key, lambda: self._validate_blocking(token))
        self._remember(key, info)
        return info

    def _cached(self, key: bytes) -> TokenInfo | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        info, until = entry
        if self._clock() >= until or info.expired():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return info

    def _remember(self, key: bytes, info: TokenInfo) -> None:
        ttl = self._settings.token_cache_time
        if ttl <= 0:
            return
        self._cache[key] = (info, self._clock() + ttl)
        self._cache.move_to_end(key)
        while len(self._cache) > self._settings.token_cache_size:
            self._cache.popitem(last=False)

    def _keystone(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory(self._settings)
            return self._client

    def _validate_blocking(self, token: str) -> TokenInfo:
        if not token or not token.isascii() or not token.isprintable():
            raise InvalidToken("malformed token")
        try:
            access = self._keystone().tokens.validate(token)
        except ks_exceptions.NotFound:
            raise InvalidToken("unknown, expired or revoked token") from None
        except ks_exceptions.BadRequest:
            raise InvalidToken("malformed token") from None
        except UNREACHABLE as exc:
            log.warning("keystone unreachable: %s", exc)
            raise ServiceUnavailable(KEYSTONE_UNAVAILABLE) from None
        except ks_exceptions.ClientException as exc:
            # 401/403 here are about our service user (wrong password, missing service
            # role): an operator's problem, never the caller's.
            log.error("keystone refused the service user: %s", exc)
            raise ServiceUnavailable(KEYSTONE_UNAVAILABLE) from None
        expires = access.expires
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=datetime.UTC)
        return TokenInfo(
            project=access.project_id,
            user=access.user_id,
            roles=frozenset(access.role_names or ()),
            expires=expires.astimezone(datetime.UTC),
        )


__all__ = ["InvalidToken", "TokenInfo", "TokenValidator", "service_user_auth"]
