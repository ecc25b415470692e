"""The Keystone trusts of ``trust+`` subscriptions, around subscription writes (REST, WebSocket).

In keystone mode the transports own ``options.trust_id`` of a trust subscriber: it creates the trust
on subscribe (whatever ``trust_id`` the body carried is replaced, because a trust id from
elsewhere could scope the notifier's tokens to someone else's project), keeps it when a PATCH
replaces the options, makes a new one when a PATCH changes the ttl (the trust expires with the
subscription) or turns a plain webhook into a trust one, and deletes the trusts that no
subscription uses any more: one made for a write that failed or for a duplicate subscribe, the
old one after a PATCH, the subscription's own after DELETE. Deletion is best effort (Keystone
lets only the trustor delete a trust); a trust left behind expires with the subscription.

In noauth mode there is no Keystone: options are stored as given and trust subscribers are
delivered without a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

from tidings.common import schemas as s
from tidings.common.errors import Forbidden
from tidings.common.subscription_rules import SubscriptionFields
from tidings.common.trusts import (
    TRUST_ID_OPTION,
    TrustBroker,
    TrustRefused,
    is_trust_subscriber,
    trust_id_of,
)

Options = dict[str, JsonValue]
MIN_TRUST_LIFETIME = 60  # seconds; the shortest subscription ttl


@dataclass(frozen=True, slots=True)
class Caller:
    """Who writes the subscription, as far as a trust needs: Keystone lets only the trustor
    create (and delete) a trust, so the caller's own token goes with them."""

    user: str | None  # None for pre-signed requests, which cannot delegate
    project: str
    roles: frozenset[str]
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class TrustPlan:
    """What a subscription write stores and which trusts to clean up after it."""

    options: Options | None  # None: leave the stored options as they are
    new_trust: str | None = None  # made for this write: deleted if the write does not use it
    old_trust: str | None = None  # replaced by this write: deleted once the write succeeded


class SubscriptionTrusts:
    def __init__(self, broker: TrustBroker | None) -> None:
        self._broker = broker

    async def for_create(
        self, caller: Caller, subscriber: str, ttl: int, options: Options
    ) -> TrustPlan:
        if self._broker is None or not is_trust_subscriber(subscriber):
            return TrustPlan(options)
        trust = await self._grant(self._broker, caller, ttl)
        return TrustPlan({**options, TRUST_ID_OPTION: trust}, new_trust=trust)

    @property
    def enabled(self) -> bool:
        return self._broker is not None

    async def for_update(
        self,
        caller: Caller,
        current: s.Subscription | None,
        fields: SubscriptionFields,
    ) -> TrustPlan:
        """``current`` is the stored subscription (None, and not loaded, in noauth mode)."""
        if self._broker is None or current is None:
            return TrustPlan(fields.options)
        subscriber = fields.subscriber if fields.subscriber is not None else current.subscriber
        old = trust_id_of(current.subscriber, current.options)
        base = fields.options if fields.options is not None else current.options
        if not is_trust_subscriber(subscriber):
            if old is None:
                return TrustPlan(fields.options)
            kept = {k: v for k, v in base.items() if k != TRUST_ID_OPTION}
            return TrustPlan(kept, old_trust=old)
        if old is not None and fields.ttl is None:
            if fields.options is None:
                return TrustPlan(None)
            return TrustPlan({**fields.options, TRUST_ID_OPTION: old})
        lifetime = fields.ttl if fields.ttl is not None else current.ttl - current.age
        trust = await self._grant(self._broker, caller, max(lifetime, MIN_TRUST_LIFETIME))
        return TrustPlan({**base, TRUST_ID_OPTION: trust}, new_trust=trust, old_trust=old)

    async def settle(self, caller: Caller, plan: TrustPlan, *, stored: bool) -> None:
        """After the write: drop the trust it replaced, or the one it did not store."""
        retired = plan.old_trust if stored else plan.new_trust
        if retired is not None:
            await self.discard(caller, retired)

    async def discard(self, caller: Caller, trust_id: str) -> None:
        if self._broker is not None and caller.token:
            await self._broker.delete(caller.token, trust_id)

    async def _grant(self, broker: TrustBroker, caller: Caller, lifetime: int) -> str:
        if caller.user is None or not caller.token:
            raise Forbidden(
                "A trust+ subscriber is delivered with a Keystone trust from the subscribing "
                "user, which only that user's own token can create; a pre-signed request "
                "carries none.",
                title="Unable to create the trust",
            )
        try:
            return await broker.create(
                caller.token,
                trustor=caller.user,
                project=caller.project,
                roles=caller.roles,
                lifetime=lifetime,
            )
        except TrustRefused as exc:
            raise Forbidden(
                f"Keystone refused to create the trust of this trust+ subscriber ({exc}). "
                "Tokens that are themselves trust-scoped or come from an application "
                "credential cannot delegate.",
                title="Unable to create the trust",
            ) from None
