"""Fetching user-supplied URLs: SSRF guard, conditional GET, deadline, size caps, per-host limit, Retry-After.

One :class:`Fetcher` per plugin instance holds one aiohttp session whose resolver is the guard's
(:class:`.netguard.GuardedResolver`). Redirects are followed here, not by aiohttp, so every hop is checked
(scheme, IP literal, and the host's addresses when it is resolved); at most ``max_redirects`` of them.
Bodies are read up to ``max_bytes`` and decompressed by us (aiohttp's own decompression is off) up to
``max_decompressed``, so a gzip bomb stops at the cap.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
import zlib
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

import aiohttp
import structlog

from .netguard import AddressPolicy, BlockedAddress, GuardedResolver, check_url

log = structlog.get_logger("omo.plugins.dailies.fetch")

FailureKind = Literal["blocked", "unreachable", "timeout", "too_large", "http", "not_a_feed", "bad_source"]
USER_AGENT = "omo-bot-dailies/1.0 (+feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
MAX_RETRY_AFTER = 24 * 3600.0


class FetchError(Exception):
    """A fetch failed; ``kind`` says how (shown to admins as is), ``retry_after`` is the server's wish in seconds."""

    def __init__(
        self, kind: FailureKind, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one fetch."""

    deadline: float = 15.0
    max_bytes: int = 5 * 1024 * 1024
    max_decompressed: int = 20 * 1024 * 1024
    max_redirects: int = 5
    per_host: int = 2


@dataclass
class FetchResult:
    """What came back: 200 with a body, or 304 (not modified) without one."""

    url: str
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        """The server said nothing changed since the validators we sent."""
        return self.status == 304


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), bounded to a day; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(delta, 0.0), MAX_RETRY_AFTER)


class _Decoder:
    """Decompresses gzip/deflate incrementally and refuses more than ``limit`` bytes of output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise FetchError("bad_source", f"the server used an encoding we did not ask for ({encoding})")
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        if self._z is None:
            self._add(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._z.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                raise FetchError("bad_source", f"the compressed response is corrupt ({exc})") from None
            self._add(out)
            data = self._z.unconsumed_tail

    def _add(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.limit:
            raise FetchError("too_large", f"the response is larger than {self.limit // 1024} KiB once decompressed")
        self._parts.append(out)

    def result(self) -> bytes:
        if self._z is not None:
            self._add(self._z.flush())
        return b"".join(self._parts)


class Fetcher:
    """Guarded HTTP GETs with one session; :meth:`close` when done."""

    def __init__(self, policy: AddressPolicy, limits: FetchLimits | None = None) -> None:
        self.policy = policy
        self.limits = limits or FetchLimits()
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy), limit=100, ttl_dns_cache=60, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                trust_env=False,
                headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
            )
        return self._session

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _host_gate(self, host: str) -> asyncio.Semaphore:
        gate = self._hosts.get(host)
        if gate is None:
            if len(self._hosts) > 10_000:
                self._hosts = {h: s for h, s in self._hosts.items() if s.locked()}
            gate = self._hosts[host] = asyncio.Semaphore(self.limits.per_host)
        return gate

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str | None = None
    ) -> FetchResult:
        """GET ``url`` within the limits; raise :class:`FetchError` with the reason on any failure."""
        try:
            async with asyncio.timeout(self.limits.deadline):
                return await self._follow(url, etag, last_modified, accept)
        except TimeoutError:
            raise FetchError("timeout", f"no complete answer within {self.limits.deadline:g} s") from None

    async def _follow(self, url: str, etag: str | None, last_modified: str | None, accept: str | None) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        for _hop in range(self.limits.max_redirects + 1):
            try:
                host = check_url(url, self.policy)
            except BlockedAddress as exc:
                raise FetchError("blocked", str(exc)) from None
            async with self._host_gate(host.lower()):
                try:
                    result = await self._one(url, headers)
                except BlockedAddress as exc:
                    raise FetchError("blocked", str(exc)) from None
                except aiohttp.ClientConnectorError as exc:
                    raise FetchError("unreachable", f"could not connect to {host} ({exc.os_error or exc})") from None
                except (aiohttp.ClientError, OSError) as exc:
                    raise FetchError("unreachable", f"the connection to {host} failed ({type(exc).__name__})") from None
            if result is None:
                return FetchResult(url=url, status=304)
            if isinstance(result, str):
                url = result
                continue
            return result
        raise FetchError("unreachable", f"more than {self.limits.max_redirects} redirects")

    async def _one(self, url: str, headers: dict[str, str]) -> FetchResult | str | None:
        """One request: a result, the next URL of a redirect, or None for 304."""
        async with self._client().get(url, headers=headers, allow_redirects=False) as resp:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError("http", f"HTTP {resp.status} without a Location", status=resp.status)
                nxt = urljoin(url, location)
                if urlsplit(nxt).scheme.lower() not in ("http", "https"):
                    raise FetchError("blocked", "redirected to a URL that is not http or https")
                return nxt
            if resp.status == 304:
                return None
            if resp.status >= 400 or resp.status < 200:
                raise FetchError(
                    "http",
                    f"the server answered HTTP {resp.status} {resp.reason or ''}".strip(),
                    status=resp.status,
                    retry_after=retry_after_seconds(resp.headers.get("Retry-After"))
                    if resp.status in (429, 503)
                    else None,
                )
            length = resp.content_length
            if length is not None and length > self.limits.max_bytes:
                raise FetchError("too_large", f"the response is {length // 1024} KiB, over the limit")
            decoder = _Decoder(resp.headers.get("Content-Encoding", ""), self.limits.max_decompressed)
            received = 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                received += len(chunk)
                if received > self.limits.max_bytes:
                    raise FetchError("too_large", f"the response is larger than {self.limits.max_bytes // 1024} KiB")
                decoder.feed(chunk)
            return FetchResult(
                url=url,
                status=resp.status,
                body=decoder.result(),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                content_type=resp.headers.get("Content-Type", ""),
            )
