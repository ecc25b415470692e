"""Webhooks cannot reach blocked networks (default: link-local, where cloud metadata lives)."""

from __future__ import annotations

import pytest

from tests.notifier.conftest import Tenant
from tests.notifier.test_webhooks import wait_for_failures
from tidings.notifier.guard import AddressGuard, BlockedAddress, GuardedResolver


def test_a_metadata_address_is_given_up_at_once(tenant: Tenant) -> None:
    sid = tenant.subscribe("meta", "http://169.254.169.254/latest/meta-data")["subscription_id"]
    tenant.post("meta", 1)
    listed = wait_for_failures(tenant, f"/v2/queues/meta/subscriptions/{sid}/failed_deliveries", 1)
    [record] = listed["failed_deliveries"]
    assert record["attempts"] == 1
    assert record["last_error"] == "address 169.254.169.254 is not allowed for webhooks"


def test_guard_checks_literals_and_mapped_addresses() -> None:
    guard = AddressGuard(["10.0.0.0/8", "fe80::/10"])
    assert guard.blocked("10.1.2.3") and guard.blocked("::ffff:10.1.2.3")
    assert guard.blocked("fe80::1%eth0")
    assert not guard.blocked("127.0.0.1") and not guard.blocked("example.com")
    with pytest.raises(BlockedAddress):
        guard.check_url("http://[::ffff:10.0.0.1]:8080/x")
    guard.check_url("http://127.0.0.1:8080/x")


async def test_names_resolving_only_to_blocked_addresses_are_refused() -> None:
    resolver = GuardedResolver(AddressGuard(["127.0.0.0/8", "::1/128"]))
    try:
        with pytest.raises(BlockedAddress):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    open_resolver = GuardedResolver(AddressGuard([]))
    try:
        [first, *_] = await open_resolver.resolve("localhost", 80)
        assert first["host"] in ("127.0.0.1", "::1")
    finally:
        await open_resolver.close()
