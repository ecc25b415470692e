"""What makes a subscription a Keystone-trust subscription (spec 4.2).

A ``trust+http(s)://`` subscriber is delivered to the URL without the prefix, with an
``X-Auth-Token`` the notifier obtains for the service user through the Keystone trust whose id
the subscription keeps in ``options.trust_id``. In keystone mode the api creates that trust on
subscribe (trustor: the caller; trustee: the service user) and owns the option from then on.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
from collections.abc import Mapping
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from tidings.common.auth_settings import KeystoneSettings
from tidings.common.errors import ServiceUnavailable
from tidings.common.keystone import KEYSTONE_UNAVAILABLE, UNREACHABLE, service_user_auth

log = logging.getLogger(__name__)

TRUST_PREFIX = "trust+"
TRUST_ID_OPTION = "trust_id"


def is_trust_subscriber(subscriber: str) -> bool:
    return subscriber.startswith(TRUST_PREFIX)


def trust_id_of(subscriber: str, options: Mapping[str, object]) -> str | None:
    """The trust a delivery to ``subscriber`` acts through, if it is a trust subscriber with
    one; plain webhooks never send a token, whatever their options say."""
    if not is_trust_subscriber(subscriber):
        return None
    trust_id = options.get(TRUST_ID_OPTION)
    return trust_id if isinstance(trust_id, str) and trust_id else None


class TrustRefused(Exception):
    """Keystone would not create the trust for this caller (its token cannot delegate)."""


class TrustBroker:
    """Creates and deletes the trusts of ``trust+`` subscriptions (keystone mode).

    Keystone lets only the trustor create a trust, so creation and deletion go out with the
    caller's own token (sent as it is, no re-authentication); the service user's session only
    tells who the trustee is. The trust is the Zaqar one: the caller's roles on the token's
    project, impersonation on (tokens made from it name the caller as their user), and it
    expires with the subscription. The blocking client runs in a worker thread.
    """

    def __init__(self, settings: KeystoneSettings) -> None:
        self._settings = settings
        self._trustee: str | None = None
        self._trustee_lock = threading.Lock()

    async def create(
        self, token: str, *, trustor: str, project: str, roles: frozenset[str], lifetime: int
    ) -> str:
        """The new trust's id; :class:`TrustRefused` when Keystone refuses the caller,
        :class:`ServiceUnavailable` when it cannot answer."""
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=lifetime)
        return await asyncio.to_thread(
            self._create_blocking, token, trustor, project, sorted(roles), expires
        )

    async def delete(self, token: str, trust_id: str) -> bool:
        """Best effort: whether the trust is gone. Keystone lets only the trustor (or an
        admin) delete it; anything else is logged and left to the trust's own expiry."""
        return await asyncio.to_thread(self._delete_blocking, token, trust_id)

    def _caller_client(self, token: str) -> Any:
        from keystoneclient.v3 import client as ks_client  # untyped; imported where it is used

        auth = token_endpoint.Token(self._settings.keystone_auth_url or "", token)
        session = ks_session.Session(auth=auth, timeout=self._settings.keystone_timeout)
        return ks_client.Client(session=session, interface="public")

    def _trustee_id(self) -> str:
        with self._trustee_lock:
            if self._trustee is None:
                session = ks_session.Session(
                    auth=service_user_auth(self._settings), timeout=self._settings.keystone_timeout
                )
                try:
                    user_id = session.get_user_id()
                except UNREACHABLE as exc:
                    log.warning("keystone unreachable: %s", exc)
                    raise ServiceUnavailable(KEYSTONE_UNAVAILABLE) from None
                except ks_exceptions.ClientException as exc:
                    log.error("keystone refused the service user: %s", exc)
                    raise ServiceUnavailable(KEYSTONE_UNAVAILABLE) from None
                if not user_id:
                    raise ServiceUnavailable(KEYSTONE_UNAVAILABLE)
                self._trustee = user_id
            return self._trustee

    def _create_blocking(
        self,
        token: str,
        trustor: str,
        project: str,
        roles: list[str],
        expires: datetime.datetime,
    ) -> str:
        try:
            trustee = self._trustee_id()
            trust = self._caller_client(token).trusts.create(
                trustee_user=trustee,
                trustor_user=trustor,
                project=project,
                role_names=roles,
                impersonation=True,
                expires_at=expires.replace(tzinfo=None),  # keystoneclient sends naive UTC
            )
        except UNREACHABLE as exc:
            log.warning("keystone unreachable: %s", exc)
            raise ServiceUnavailable(KEYSTONE_UNAVAILABLE) from None
        except ks_exceptions.ClientException as exc:
            log.info("keystone refused a trust from %s on %s: %s", trustor, project, exc)
            raise TrustRefused(str(exc)) from None
        trust_id: str = trust.id
        log.info("created trust %s from %s to the service user on %s", trust_id, trustor, project)
        return trust_id

    def _delete_blocking(self, token: str, trust_id: str) -> bool:
        try:
            self._caller_client(token).trusts.delete(trust_id)
        except ks_exceptions.NotFound:
            return True  # expired or deleted already
        except ks_exceptions.ClientException as exc:
            log.warning("could not delete trust %s (it expires by itself): %s", trust_id, exc)
            return False
        log.info("deleted trust %s", trust_id)
        return True
