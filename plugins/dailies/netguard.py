"""SSRF guard: which addresses a user-supplied URL may reach, and a resolver that only hands out checked ones.

aiohttp connects to exactly the addresses its resolver returns, so :class:`GuardedResolver` is where every
host name of every request (and of every redirect hop, which :mod:`.fetch` follows itself) is checked:
all of its addresses must be public, or the request fails with :class:`BlockedAddress`. There is no second
DNS lookup between the check and the connection. IP literals never reach a resolver in aiohttp, so
:func:`check_url` checks them before each hop.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Ranges refused besides what ``ipaddress`` calls non-global (loopback, private, link-local, reserved,
#: unspecified, documentation, CGNAT 100.64/10 are already not global).
_EXTRA_BLOCKED: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT, spelt out
    ipaddress.ip_network("224.0.0.0/4"),  # IPv4 multicast (some of it counts as global)
    ipaddress.ip_network("ff00::/8"),  # IPv6 multicast
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: an IPv4 address in disguise, checked below too
)
SCHEMES = ("http", "https")


class BlockedAddress(Exception):
    """The URL points at an address the guard refuses (or at a scheme other than http/https)."""


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _EXTRA_BLOCKED[3]:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return None


class AddressPolicy:
    """Public addresses pass; ``allow`` (networks from plugins.toml, for development and tests) passes too."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(a, strict=False) for a in allow)

    def extend(self, allow: Iterable[str]) -> None:
        """Allow more networks (``omo demo`` opens 127.0.0.1 for its own local feeds)."""
        self.allow += tuple(ipaddress.ip_network(a, strict=False) for a in allow)

    def allowed(self, ip: IPAddress) -> bool:
        """Whether a connection to ``ip`` is allowed."""
        if any(ip.version == net.version and ip in net for net in self.allow):
            return True
        inner = _embedded_v4(ip)
        if inner is not None:
            return self.allowed(inner)
        if ip.is_multicast or any(ip.version == net.version and ip in net for net in _EXTRA_BLOCKED):
            return False
        return ip.is_global

    def check(self, host: str, ip: IPAddress) -> None:
        """Raise :class:`BlockedAddress` when ``ip`` (an address of ``host``) is refused."""
        if not self.allowed(ip):
            raise BlockedAddress(f"{host} resolves to {ip}, a private or reserved address")


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one (brackets and zone ids stripped), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str, policy: AddressPolicy) -> str:
    """Check scheme and (for IP literals) address of ``url``; return its host. Host names are checked when
    they are resolved (:class:`GuardedResolver`)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise BlockedAddress(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise BlockedAddress(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}")
    if not host:
        raise BlockedAddress("the URL has no host")
    if parts.username or parts.password:
        raise BlockedAddress("URLs with a user name or password are not fetched")
    literal = ip_literal(host)
    if literal is not None:
        policy.check(host, literal)
    return host


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's threaded resolver, then refuses the host if any of its addresses is refused."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """All addresses of ``host``, every one checked."""
        results = await self.inner.resolve(host, port, family)
        for result in results:
            self.policy.check(host, ipaddress.ip_address(result["host"]))
        return results

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self.inner.close()
