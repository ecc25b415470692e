"""Trust-scoped Keystone tokens for ``trust+`` deliveries (spec 4.2).

A trust subscription keeps the id of a Keystone trust from its subscriber to the service user
(``TIDINGS_KEYSTONE_*``, the same user the api and websocket validate tokens as). To deliver,
the notifier authenticates as that user scoped to the trust (keystoneauth ``v3.Password`` with
``trust_id``); with the trust's impersonation the token names the subscriber as its user. A
token is reused for its trust until ``margin`` seconds before it expires, so a busy queue costs
Keystone one authentication per token lifetime, not one per message; concurrent deliveries of
one trust share one authentication. The blocking client runs in a worker thread.

A token is sent only if Keystone scoped it to the delivering queue's own project: a trust id
that reached a subscription some other way can never carry a token of another tenant.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from tidings.common.auth_settings import KeystoneSettings
from tidings.common.keystone import UNREACHABLE, service_user_auth
from tidings.common.single_flight import SingleFlight
from tidings.notifier import metrics

log = logging.getLogger(__name__)

MAX_CACHED = 10_000


class TrustTokenError(Exception):
    """No token for this delivery; ``retryable`` says whether the retry policy applies."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    project: str | None
    refresh_at: float  # time.monotonic()


class TrustTokens:
    def __init__(self, settings: KeystoneSettings, margin: float) -> None:
        self._settings = settings
        self._margin = margin
        self._cache: OrderedDict[str, _Token] = OrderedDict()
        self._inflight: SingleFlight[str, _Token] = SingleFlight()

    async def token(self, trust_id: str, project: str) -> str:
        """A token of ``trust_id`` scoped to ``project``, or :class:`TrustTokenError`."""
        if not self._settings.keystone_configured:
            raise TrustTokenError(
                "trust subscription, but the notifier has no Keystone service user "
                "(TIDINGS_KEYSTONE_*)",
                retryable=False,
            )
        found = await self._get(trust_id)
        if found.project != project:
            metrics.TRUST_TOKENS.labels("wrong_project").inc()
            log.warning("trust %s is not scoped to the subscription's project", trust_id)
            raise TrustTokenError(
                "the trust is not scoped to this queue's project; no token sent",
                retryable=False,
            )
        return found.value

    async def _get(self, trust_id: str) -> _Token:
        cached = self._cache.get(trust_id)
        if cached is not None:
            if cached.refresh_at > time.monotonic():
                self._cache.move_to_end(trust_id)
                metrics.TRUST_TOKENS.labels("cached").inc()
                return cached
            del self._cache[trust_id]
        fresh = await self._inflight.run(trust_id, lambda: self._authenticate(trust_id))
        self._remember(trust_id, fresh)
        return fresh

    def _remember(self, trust_id: str, token: _Token) -> None:
        if token.refresh_at <= time.monotonic():
            return  # too close to its expiry to reuse
        self._cache[trust_id] = token
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)

    def _authenticate(self, trust_id: str) -> _Token:
        auth = service_user_auth(self._settings, trust_id=trust_id)
        session = ks_session.Session(auth=auth, timeout=self._settings.keystone_timeout)
        try:
            access = auth.get_access(session)
        except UNREACHABLE as exc:
            metrics.TRUST_TOKENS.labels("unavailable").inc()
            raise TrustTokenError(f"Keystone unreachable: {exc}", retryable=True) from None
        except ks_exceptions.ClientException as exc:
            # The trust expired, was deleted, or its trustor lost the roles: retried like any
            # failed attempt (the policy decides when to give up), recorded if it never works.
            metrics.TRUST_TOKENS.labels("refused").inc()
            raise TrustTokenError(
                f"Keystone refused a token for trust {trust_id}: {exc}", retryable=True
            ) from None
        if not access.auth_token:
            metrics.TRUST_TOKENS.labels("refused").inc()
            raise TrustTokenError(f"Keystone issued no token for trust {trust_id}", retryable=True)
        metrics.TRUST_TOKENS.labels("issued").inc()
        left = 0.0  # a token without an expiry is used once
        if access.expires is not None:
            expires = access.expires
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=datetime.UTC)
            left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
        return _Token(
            value=access.auth_token,
            project=access.project_id,
            refresh_at=time.monotonic() + left - self._margin,
        )
