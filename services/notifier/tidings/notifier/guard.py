"""Which addresses webhooks may reach.

Tenants choose webhook URLs, so a notifier inside the cloud could be pointed at addresses only
it can reach: the instance metadata service, link-local addresses, or whatever networks the
operator lists in ``TIDINGS_WEBHOOK_BLOCKED_NETWORKS``. The check runs on the addresses a name
resolves to, inside the HTTP client's resolver (so a name that resolves differently the second
time cannot slip past), and on IP literals before connecting. Such a delivery is given up at
once, as a refused request would be.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(OSError):
    """The webhook's address is in a blocked network."""


class AddressGuard:
    def __init__(self, networks: Iterable[str]) -> None:
        self._networks: list[Network] = [ipaddress.ip_network(n, strict=False) for n in networks]

    def blocked(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._networks)

    def check_url(self, url: str) -> None:
        """Refuse an IP-literal host at once (the client does not resolve those)."""
        host = urlsplit(url).hostname or ""
        if self.blocked(host):
            raise BlockedAddress(f"address {host} is not allowed for webhooks")


class GuardedResolver(AbstractResolver):
    """The default resolver, minus the addresses the guard blocks."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if not self._guard.blocked(r["host"])]
        if not allowed:
            raise BlockedAddress(f"{host} resolves only to addresses not allowed for webhooks")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
