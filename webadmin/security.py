"""Response hardening: security headers, https detection (with trusted proxies) and rate limits."""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from typing import TYPE_CHECKING

from quart import Quart, Response, current_app, g, request
from quart_rate_limiter import RateLimit, RateLimiter

if TYPE_CHECKING:
    from core.runtime import Runtime

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https://cdn.discordapp.com data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

HEADER_ITEMS = tuple(HEADERS.items())

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


def is_secure_request() -> bool:
    """Whether the browser reached us over https: directly, by the configured public URL, or via a trusted proxy."""
    cached: bool | None = g.get("omo_secure")
    if cached is None:
        cached = g.omo_secure = _is_secure_request()
    return cached


def _is_secure_request() -> bool:
    if request.scheme in ("https", "wss"):
        return True
    runtime: Runtime = current_app.config["OMO_RUNTIME"]
    public = runtime.plugins_file.web.public_url or ""
    if public.startswith("https://"):
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    if proto != "https":
        return False
    try:
        remote = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(remote in net for net in current_app.config.get("OMO_TRUSTED_PROXIES", []))


async def security_headers(response: Response) -> Response:
    """``after_request``: the hardening headers on every response."""
    headers = response.headers
    present = {key.lower() for key in headers.keys()}  # noqa: SIM118 - Headers iterates as pairs
    headers.extend([(name, value) for name, value in HEADER_ITEMS if name.lower() not in present])
    if is_secure_request():
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(("/auth/", "/api/", "/operator")) or response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def identity_key() -> str:
    """Rate-limit key: the login session, else the bearer token's hash, else the client address."""
    key: str | None = g.get("omo_rate_key")
    if key is not None:
        return key
    from webadmin.auth import bearer_secret, session_id_from_cookie

    session_id = session_id_from_cookie()
    secret = None if session_id else bearer_secret()
    if session_id:
        key = "s:" + session_id
    elif secret:
        from webadmin.tokens import hash_token

        key = "t:" + hash_token(secret)
    else:
        key = "a:" + (request.remote_addr or "?")
    g.omo_rate_key = key
    return key


async def address_key() -> str:
    """Rate-limit key: the client address."""
    return "a:" + (request.remote_addr or "?")


class RequestRateLimiter(RateLimiter):
    """quart-rate-limiter with each request's keys computed once (it asks up to three times per limit)."""

    async def _create_key(self, endpoint: str, rate_limit: RateLimit) -> str:
        memo: dict[tuple[str, str], str] = g.setdefault("omo_rate_keys", {})
        slot = (endpoint, rate_limit.key)
        key = memo.get(slot)
        if key is None:
            key = memo[slot] = await super()._create_key(endpoint, rate_limit)
        return key


def init_security(app: Quart) -> tuple[RateLimit, RateLimit]:
    """Install headers and the rate limiter; return the (login, api) limits to attach to blueprints."""
    runtime = app.config.get("OMO_RUNTIME")
    from_file = ",".join(runtime.plugins_file.web.trusted_proxies) if runtime is not None else ""
    app.config["OMO_TRUSTED_PROXIES"] = trusted_proxies(
        ",".join(filter(None, [from_file, os.environ.get("OMO_TRUSTED_PROXIES")]))
    )
    app.after_request(security_headers)
    RequestRateLimiter(app)
    login_count, login_seconds = parse_limit(os.environ.get("OMO_LOGIN_RATE_LIMIT"), DEFAULT_LOGIN_LIMIT)
    api_count, api_seconds = parse_limit(os.environ.get("OMO_API_RATE_LIMIT"), DEFAULT_API_LIMIT)
    return (
        RateLimit(login_count, timedelta(seconds=login_seconds), key_function=address_key),
        RateLimit(api_count, timedelta(seconds=api_seconds), key_function=identity_key),
    )
