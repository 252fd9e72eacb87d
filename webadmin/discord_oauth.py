"""The Discord side of the login: authorize URL, code exchange, token refresh, user and guild lookups.

Works against discord.com in production and against the emulator in development, chosen by
configuration only (``runtime.options.discord_api``). Outbound calls use aiohttp with a timeout;
every failure becomes a :class:`DiscordOAuthError` whose message can be shown to a person and whose
``reason`` can be logged (neither ever contains a token or the client secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import structlog

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

log = structlog.get_logger("omo.web.oauth")

SCOPES = "identify guilds"
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
DISCORD = "https://discord.com"
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
#: Permissions the invite link asks for: view channels, send messages, embed links, read history, manage roles.
INVITE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 28)


class DiscordOAuthError(Exception):
    """A login step failed. ``str(exc)`` is for the user, ``reason`` for the log, ``status`` for the page."""

    def __init__(self, message: str, reason: str, status: int = 502) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class OAuthConfig:
    """Where and as whom the dashboard talks OAuth2."""

    client_id: str
    client_secret: str
    authorize_url: str
    api_base: str
    redirect_uri: str

    @property
    def configured(self) -> bool:
        """Client id and secret are set."""
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class TokenSet:
    """An access token answer (kept server-side only)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime


def public_base(runtime: WebRuntime) -> str:
    """The dashboard's public URL: ``[web] public_url`` or the address it listens on."""
    base = runtime.plugins_file.web.public_url or runtime.web_url or "http://127.0.0.1:8787"
    return base.rstrip("/")


def oauth_config(runtime: WebRuntime) -> OAuthConfig:
    """The OAuth2 endpoints for ``runtime``: the emulator when ``options.discord_api`` is set, else discord.com."""
    root = (runtime.options.discord_api or DISCORD).rstrip("/")
    return OAuthConfig(
        client_id=runtime.env.client_id or "",
        client_secret=runtime.env.client_secret or "",
        authorize_url=f"{root}/oauth2/authorize",
        api_base=f"{root}/api/v10",
        redirect_uri=f"{public_base(runtime)}/auth/callback",
    )


def authorize_url(config: OAuthConfig, state: str) -> str:
    """The URL that sends the browser to Discord's consent screen."""
    query = urlencode(
        {
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
            "prompt": "none",
        }
    )
    return f"{config.authorize_url}?{query}"


def invite_url(client_id: str, guild_id: int | None = None) -> str:
    """An invite link for the bot (``guild_id`` preselects the server)."""
    query = {"client_id": client_id, "scope": "bot applications.commands", "permissions": str(INVITE_PERMISSIONS)}
    if guild_id is not None:
        query["guild_id"] = str(guild_id)
        query["disable_guild_select"] = "true"
    return f"{DISCORD}/oauth2/authorize?{urlencode(query).replace('%20', '+')}"


def can_manage(partial_guild: dict[str, Any]) -> bool:
    """Whether a ``/users/@me/guilds`` entry says the user owns the guild or has Manage Server/Administrator."""
    if partial_guild.get("owner"):
        return True
    try:
        perms = int(partial_guild.get("permissions") or 0)
    except (TypeError, ValueError):
        return False
    return bool(perms & (MANAGE_GUILD | ADMINISTRATOR))


class DiscordClient:
    """OAuth2 and user API calls, sharing one aiohttp session."""

    def __init__(self, config: OAuthConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers={"User-Agent": "omo-bot web admin"})
        return self._session

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, step: str, **kwargs: Any) -> Any:
        url = f"{self.config.api_base}{path}"
        try:
            async with self._http().request(method, url, **kwargs) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if response.status >= 400:
                    code = body.get("error") if isinstance(body, dict) else None
                    raise DiscordOAuthError(
                        _message_for(step, response.status),
                        f"{step}: HTTP {response.status}" + (f" ({code})" if code else ""),
                        401 if response.status in (400, 401) and step in ("refresh", "user", "guilds") else 502,
                    )
                return body
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DiscordOAuthError(
                "Discord could not be reached. Try again in a minute.", f"{step}: {type(exc).__name__}", 503
            ) from None

    def _token_form(self, **fields: str) -> dict[str, Any]:
        return {
            "data": {**fields, "client_id": self.config.client_id, "client_secret": self.config.client_secret},
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        }

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade an authorization code for tokens."""
        body = await self._call(
            "POST",
            "/oauth2/token",
            "token exchange",
            **self._token_form(grant_type="authorization_code", code=code, redirect_uri=self.config.redirect_uri),
        )
        return _token_set(body, "token exchange")

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for new tokens."""
        body = await self._call(
            "POST",
            "/oauth2/token",
            "refresh",
            **self._token_form(grant_type="refresh_token", refresh_token=refresh_token),
        )
        return _token_set(body, "refresh")

    async def revoke(self, token: str) -> None:
        """Revoke a token (best effort, errors are logged)."""
        try:
            await self._call("POST", "/oauth2/token/revoke", "revoke", **self._token_form(token=token))
        except DiscordOAuthError as exc:
            log.warning("token revocation failed", reason=exc.reason)

    async def user(self, access_token: str) -> dict[str, Any]:
        """``GET /users/@me`` for the token's user."""
        body = await self._call("GET", "/users/@me", "user", headers={"Authorization": f"Bearer {access_token}"})
        if not isinstance(body, dict) or "id" not in body:
            raise DiscordOAuthError("Discord sent an unexpected answer.", "user: malformed body")
        return body

    async def guilds(self, access_token: str) -> list[dict[str, Any]]:
        """``GET /users/@me/guilds``, trimmed to what the dashboard keeps (id, name, icon, owner, permissions)."""
        body = await self._call(
            "GET", "/users/@me/guilds", "guilds", headers={"Authorization": f"Bearer {access_token}"}
        )
        if not isinstance(body, list):
            raise DiscordOAuthError("Discord sent an unexpected answer.", "guilds: malformed body")
        keep = ("id", "name", "icon", "owner", "permissions")
        return [{k: g.get(k) for k in keep} for g in body if isinstance(g, dict) and "id" in g]


def _token_set(body: Any, step: str) -> TokenSet:
    if not isinstance(body, dict) or not body.get("access_token"):
        raise DiscordOAuthError("Discord sent an unexpected answer.", f"{step}: malformed body")
    expires_in = int(body.get("expires_in") or 604800)
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token"),
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
    )


def _message_for(step: str, status: int) -> str:
    if step == "token exchange":
        return "Discord refused the login (the code may have expired or been used). Start the login again."
    if status == 429:
        return "Discord is rate limiting this dashboard. Try again in a minute."
    if step in ("refresh", "user", "guilds") and status in (400, 401):
        return "Your Discord login has expired. Log in again."
    return "Discord answered with an error. Try again in a minute."
