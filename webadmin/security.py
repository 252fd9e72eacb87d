"""Response hardening: security headers, https detection (with trusted proxies) and rate limits."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from quart import Quart, current_app, g, request
from quart_rate_limiter import RateLimit
from quart_rate_limiter.store import RateLimiterStoreABC

from core.json_limits import loads_bounded

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https://cdn.discordapp.com data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
#: On HTML pages (the document-level policies only mean something for a document a browser renders).
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
#: On everything else (JSON, static files), as OWASP's REST Security Cheat Sheet recommends: nothing may
#: load, frame or sniff it.
OTHER_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}

#: Login attempts per client address: ``OMO_LOGIN_RATE_LIMIT`` ("count/seconds").
DEFAULT_LOGIN_LIMIT = "20/60"
#: API calls per user, token or address: ``OMO_API_RATE_LIMIT`` ("count/seconds").
DEFAULT_API_LIMIT = "600/60"


def parse_limit(raw: str | None, default: str) -> tuple[int, int]:
    """``"count/seconds"`` as a pair (the default when unset or malformed)."""
    for text in (raw, default):
        if not text:
            continue
        count, _, seconds = text.partition("/")
        if count.strip().isdigit() and seconds.strip().isdigit() and int(count) > 0 and int(seconds) > 0:
            return int(count), int(seconds)
    raise ValueError(f"bad rate limit {default!r}")


def trusted_proxies(raw: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks whose ``X-Forwarded-Proto`` is believed (``OMO_TRUSTED_PROXIES``, comma separated)."""
    networks = []
    for part in (raw or "").split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return networks


def scope_is_secure(app: Quart, scope: Mapping[str, Any]) -> bool:
    """Whether the browser reached us over https: directly, by the configured public URL, or through a
    trusted proxy (``OMO_TRUSTED_PROXIES``) saying ``X-Forwarded-Proto: https``."""
    runtime: WebRuntime = app.config["OMO_RUNTIME"]
    if scope.get("scheme") in ("https", "wss") or (runtime.plugins_file.web.public_url or "").startswith("https://"):
        return True
    trusted = app.config.get("OMO_TRUSTED_PROXIES", [])
    if not trusted:  # a forwarded scheme counts only from a trusted proxy: don't look for it otherwise
        return False
    forwarded = next((value for name, value in scope["headers"] if name == b"x-forwarded-proto"), b"")
    if forwarded.split(b",")[0].strip().lower() != b"https":
        return False
    client = scope.get("client")
    try:
        remote = ipaddress.ip_address(client[0] if client else "")
    except ValueError:
        return False
    return any(remote in net for net in trusted)


def is_secure_request() -> bool:
    """Whether the current request came over https (see :func:`scope_is_secure`)."""
    cached: bool | None = g.get("omo_secure")
    if cached is None:
        cached = g.omo_secure = scope_is_secure(current_app, request.scope)
    return cached


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
_RAW_HTML_HEADERS = [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
_RAW_OTHER_HEADERS = [(name.lower().encode(), value.encode()) for name, value in OTHER_HEADERS.items()]
_NO_STORE_PATHS = ("/auth/", "/api/", "/operator")


class HardenedResponses:
    """ASGI middleware around the Quart app: the request's log context; the hardening headers on every HTTP
    response (:data:`HEADERS` on HTML pages, :data:`OTHER_HEADERS` on the rest), ``Cache-Control: no-store``
    on pages, login and API answers (plugin API routes included), HSTS over https; and the response counter
    of ``/metrics``.

    It works on the raw ASGI messages, so it also covers static files and error pages, and costs a few
    microseconds instead of a Quart ``after_request`` hook's header parsing.
    """

    def __init__(self, app: Quart, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner
        self._counters: dict[int, Any] = {}

    def _count(self, status: int) -> None:
        counter = self._counters.get(status)
        if counter is None:
            counter = self._counters[status] = self.app.config["OMO_METRICS"][1].labels(status=str(status))
        counter.inc()

    def harden(self, scope: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """``headers`` of a response to ``scope`` with the hardening headers a handler did not set itself."""
        present = set()
        html = False
        for name, value in headers:
            name = name.lower()
            present.add(name)
            if name == b"content-type":
                html = value.startswith(b"text/html")
        out = list(headers)
        for item in _RAW_HTML_HEADERS if html else _RAW_OTHER_HEADERS:
            if item[0] not in present:
                out.append(item)
        if b"strict-transport-security" not in present and scope_is_secure(self.app, scope):
            out.append((b"strict-transport-security", b"max-age=31536000"))
        path = scope["path"]
        if b"cache-control" not in present and (html or path.startswith(_NO_STORE_PATHS) or "/api/" in path):
            out.append((b"cache-control", b"no-store"))
        return out

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        # every log line of the request names it (the request's tasks copy this context)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(route=scope["path"], method=scope["method"])

        async def send_hardened(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self._count(message["status"])
                message = {**message, "headers": self.harden(scope, message.get("headers") or [])}
            await send(message)

        await self.inner(scope, receive, send_hardened)


async def identity_key() -> str:
    """Rate-limit key: the login session (its cookie's signature is ours), else a bearer token this process has
    verified, else the client address: made-up tokens, however many, share their sender's bucket (and each
    database lookup of one is spent from it)."""
    from webadmin.auth import session_id_from_cookie, verified_bearer_hash

    session_id = session_id_from_cookie()
    if session_id:
        return "s:" + session_id
    digest = verified_bearer_hash()
    if digest is not None:
        return "t:" + digest
    return await address_key()


async def address_key() -> str:
    """Rate-limit key: the client address."""
    return "a:" + (request.remote_addr or "?")


class ExpiringMemoryStore(RateLimiterStoreABC):
    """The rate limiter's in-memory TATs, forgetting a key once its TAT has passed.

    A TAT in the past means the same as no entry (a full allowance), so dropping it changes no answer;
    quart-rate-limiter's own memory store keeps every session, token and client address it ever saw,
    which a client rotating addresses can grow without bound. Expired keys are swept whenever the
    store has doubled since the last sweep.
    """

    def __init__(self, first_sweep_at: int = 10_000) -> None:
        self._tats: dict[str, datetime] = {}
        self._first_sweep_at = first_sweep_at
        self._sweep_at = first_sweep_at

    def __len__(self) -> int:
        return len(self._tats)

    async def get(self, key: str, default: datetime) -> datetime:
        """The TAT of ``key``, or ``default``."""
        return self._tats.get(key, default)

    async def set(self, key: str, tat: datetime) -> None:
        """Store the TAT of ``key`` (sweeping the expired ones when the store has grown enough)."""
        self._tats[key] = tat
        if len(self._tats) >= self._sweep_at:
            now = datetime.now(UTC)
            self._tats = {k: v for k, v in self._tats.items() if v > now}
            self._sweep_at = max(self._first_sweep_at, 2 * len(self._tats))

    async def before_serving(self) -> None:
        """Nothing to open."""

    async def after_serving(self) -> None:
        """Nothing to close."""


def init_security(app: Quart) -> tuple[RateLimit, RateLimit]:
    """Install headers and the rate limiter; return the (login, api) limits to attach to blueprints."""
    runtime = app.config.get("OMO_RUNTIME")
    from_file = ",".join(runtime.plugins_file.web.trusted_proxies) if runtime is not None else ""
    app.config["OMO_TRUSTED_PROXIES"] = trusted_proxies(
        ",".join(filter(None, [from_file, os.environ.get("OMO_TRUSTED_PROXIES")]))
    )
    app.asgi_app = HardenedResponses(app, app.asgi_app)  # type: ignore[method-assign,assignment,arg-type]
    # request bodies are read with a nesting limit: too deep is a 400 like any malformed JSON, not a RecursionError
    app.json.loads = loads_bounded  # type: ignore[method-assign,assignment]
    from webadmin.compat import RequestRateLimiter  # compat builds on this module's is_secure_request

    app.extensions["omo_rate_limiter"] = RequestRateLimiter(app, store=ExpiringMemoryStore())
    login_count, login_seconds = parse_limit(os.environ.get("OMO_LOGIN_RATE_LIMIT"), DEFAULT_LOGIN_LIMIT)
    api_count, api_seconds = parse_limit(os.environ.get("OMO_API_RATE_LIMIT"), DEFAULT_API_LIMIT)
    return (
        RateLimit(login_count, timedelta(seconds=login_seconds), key_function=address_key),
        RateLimit(api_count, timedelta(seconds=api_seconds), key_function=identity_key),
    )
