"""The emulated OAuth2 server: authorize page, token endpoint (code and refresh grants), revocation."""

from __future__ import annotations

import base64
import html
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from . import permissions as perms
from .live import page
from .rest import json_response
from .state import OAuthGrant

if TYPE_CHECKING:
    from .server import Emulator

CODE_TTL = 600.0
ACCESS_TTL = 604800
KNOWN_SCOPES = {
    "identify",
    "email",
    "guilds",
    "guilds.members.read",
    "connections",
    "applications.commands",
    "bot",
}


class OAuthError(Exception):
    """An RFC 6749 error answer: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> web.Response:
        """The JSON error response."""
        return json_response({"error": self.error, "error_description": self.description}, status=self.status)


def redirect_allowed(uri: str) -> bool:
    """The emulator accepts any http(s) redirect URI on 127.0.0.1 or localhost."""
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")


class OAuthServer:
    """Authorization codes and tokens for the emulated application."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world
        #: The user the authorize page selects (``omo demo``: its admin); None selects the first listed.
        self.preselect: int | None = None
        #: A few words about a user on the authorize page, after what the emulator knows (e.g. "operator").
        self.notes: dict[int, str] = {}

    def describe(self, user_id: int) -> str:
        """Who ``user_id`` is, for the authorize page: their standing in each guild, then any note."""
        parts = []
        for guild in sorted(self.world.guilds.values(), key=lambda g: g.id):
            if user_id not in guild.members:
                continue
            granted = guild.permissions_of(user_id)
            if guild.owner_id == user_id:
                standing = "owner"
            elif granted & perms.ADMINISTRATOR:
                standing = "Administrator"
            elif granted & perms.MANAGE_GUILD:
                standing = "Manage Server"
            else:
                standing = "member"
            parts.append(f"{standing} in {guild.name}")
        if user_id == self.world.owner.id:
            parts.append("owner of the bot's application")
        if user_id in self.notes:
            parts.append(self.notes[user_id])
        return "; ".join(parts) or "in no server"

    def routes(self) -> list[tuple[str, str, object]]:
        """Routes outside the API prefix (the browser-facing authorize page)."""
        return [
            ("GET", "/oauth2/authorize", self.authorize_page),
            ("POST", "/oauth2/authorize", self.authorize_post),
        ]

    def api_routes(self) -> list[tuple[str, str, object]]:
        """Routes under the API prefix."""
        return [("POST", "/oauth2/token", self.token), ("POST", "/oauth2/token/revoke", self.revoke)]

    # -- authorization ---------------------------------------------------------------------------------

    def _check_request(self, client_id: str, redirect_uri: str, response_type: str, scope: str) -> list[str]:
        if client_id != str(self.world.application_id):
            raise OAuthError(400, "invalid_client", "Unknown application")
        if not redirect_allowed(redirect_uri):
            raise OAuthError(400, "invalid_request", "Invalid OAuth2 redirect_uri")
        if response_type != "code":
            raise OAuthError(400, "unsupported_response_type", "Only response_type=code is supported")
        scopes = [s for s in scope.replace("+", " ").split() if s]
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if not scopes or unknown:
            raise OAuthError(400, "invalid_scope", f"Invalid scope: {' '.join(unknown) or '(none)'}")
        return scopes

    def issue_code(self, user_id: int, client_id: str, redirect_uri: str, scope: str, state: str | None) -> str:
        """Approve an authorization request as ``user_id``; returns the redirect URL carrying the code."""
        scopes = self._check_request(client_id, redirect_uri, "code", scope)
        self.world.user(user_id)
        code = secrets.token_urlsafe(24)
        self.world.oauth_codes[code] = OAuthGrant(
            user_id=user_id,
            client_id=int(client_id),
            scope=scopes,
            redirect_uri=redirect_uri,
            expires_at=time.time() + CODE_TTL,
        )
        self.emu.record("oauth.authorize", user_id=user_id, scope=scopes)
        query = {"code": code}
        if state is not None:
            query["state"] = state
        sep = "&" if urlsplit(redirect_uri).query else "?"
        return f"{redirect_uri}{sep}{urlencode(query)}"

    async def authorize_page(self, request: web.Request) -> web.Response:
        """GET /oauth2/authorize: a page to pick which emulated user approves the request."""
        q = request.query
        try:
            self._check_request(
                q.get("client_id", ""),
                q.get("redirect_uri", ""),
                q.get("response_type", ""),
                q.get("scope", ""),
            )
        except OAuthError as exc:
            return web.Response(
                status=400, text=f"OAuth2 error: {exc.error}: {exc.description}", content_type="text/plain"
            )
        people = [u for u in self.world.users.values() if not u.bot and u.id not in self.world.webhooks]
        chosen = self.preselect if any(u.id == self.preselect for u in people) else (people[0].id if people else None)
        people.sort(key=lambda u: u.id != chosen)  # the selected user first
        options = "\n".join(
            f'<label class="who"><input type="radio" name="user_id" value="{u.id}"'
            f"{' checked' if u.id == chosen else ''}><span><strong>{html.escape(u.global_name or u.username)}"
            f" <small>@{html.escape(u.username)}</small></strong>"
            f'<span class="muted">{html.escape(self.describe(u.id))}</span></span></label>'
            for u in people
        )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(q.get(k, ""), quote=True)}">'
            for k in ("client_id", "redirect_uri", "response_type", "scope", "state")
        )
        bot = html.escape(self.world.bot.username)
        body = f"""<section class="panel"><h1>{bot} wants to access your account</h1>
<p class="muted">This is the Discord emulator's stand-in for Discord's approval page: pick who you are.
Asked for: <code>{html.escape(q.get("scope", ""))}</code>.</p>
<form method="post" action="/oauth2/authorize">{hidden}
<fieldset><legend class="muted">Sign in as</legend>{options}</fieldset>
<div class="actions"><button class="btn" type="submit" name="action" value="approve">Authorize</button>
<button class="btn btn-ghost" type="submit" name="action" value="cancel">Cancel</button></div>
</form></section>"""
        return page(f"Authorize {self.world.bot.username}", body)

    async def authorize_post(self, request: web.Request) -> web.Response:
        """POST /oauth2/authorize: approve (redirect with ``code``) or cancel (``error=access_denied``)."""
        form = await request.post()
        redirect_uri = str(form.get("redirect_uri", ""))
        state = form.get("state")
        try:
            if form.get("action") == "cancel":
                self._check_request(str(form.get("client_id", "")), redirect_uri, "code", str(form.get("scope", "")))
                query = {
                    "error": "access_denied",
                    "error_description": "The resource owner or authorization server denied the request",
                }
                if state:
                    query["state"] = str(state)
                raise web.HTTPFound(f"{redirect_uri}?{urlencode(query)}")
            url = self.issue_code(
                int(str(form.get("user_id", "0"))),
                str(form.get("client_id", "")),
                redirect_uri,
                str(form.get("scope", "")),
                str(state) if state else None,
            )
        except OAuthError as exc:
            return web.Response(
                status=400, text=f"OAuth2 error: {exc.error}: {exc.description}", content_type="text/plain"
            )
        raise web.HTTPFound(url)

    # -- tokens ----------------------------------------------------------------------------------------

    def _client(self, request: web.Request, form: dict[str, str]) -> None:
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                raise OAuthError(401, "invalid_client", "Invalid client credentials") from None
        if (
            client_id != str(self.world.application_id)
            or not secret
            or not secrets.compare_digest(secret, self.world.client_secret)
        ):
            raise OAuthError(401, "invalid_client", "Invalid client credentials")

    def _issue(self, grant: OAuthGrant) -> dict[str, object]:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        live = OAuthGrant(
            user_id=grant.user_id,
            client_id=grant.client_id,
            scope=grant.scope,
            redirect_uri=grant.redirect_uri,
            expires_at=time.time() + ACCESS_TTL,
        )
        self.world.oauth_access[access] = live
        self.world.oauth_refresh[refresh] = live
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh,
            "scope": " ".join(grant.scope),
        }

    async def token(self, request: web.Request) -> web.Response:
        """POST /api/v10/oauth2/token (form-encoded): authorization_code and refresh_token grants."""
        try:
            if not request.content_type.startswith("application/x-www-form-urlencoded"):
                raise OAuthError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
            form = {k: str(v) for k, v in (await request.post()).items()}
            self._client(request, form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                code = form.get("code")
                if not code:
                    raise OAuthError(400, "invalid_request", 'Missing "code" in request.')
                grant = self.world.oauth_codes.pop(code, None)
                if grant is None or grant.expires_at < time.time():
                    raise OAuthError(400, "invalid_grant", 'Invalid "code" in request.')
                if form.get("redirect_uri") != grant.redirect_uri:
                    raise OAuthError(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
                self.emu.record("oauth.token", user_id=grant.user_id, grant_type=grant_type)
                return json_response(self._issue(grant))
            if grant_type == "refresh_token":
                grant = self.world.oauth_refresh.pop(form.get("refresh_token", ""), None)
                if grant is None:
                    raise OAuthError(400, "invalid_grant", 'Invalid "refresh_token" in request.')
                for token, value in list(self.world.oauth_access.items()):
                    if value is grant:
                        del self.world.oauth_access[token]
                self.emu.record("oauth.token", user_id=grant.user_id, grant_type=grant_type)
                return json_response(self._issue(grant))
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
        except OAuthError as exc:
            return exc.response()

    async def revoke(self, request: web.Request) -> web.Response:
        """POST /api/v10/oauth2/token/revoke: revoke an access or refresh token."""
        try:
            form = {k: str(v) for k, v in (await request.post()).items()}
            self._client(request, form)
        except OAuthError as exc:
            return exc.response()
        token = form.get("token", "")
        grant = self.world.oauth_access.pop(token, None) or self.world.oauth_refresh.pop(token, None)
        if grant is not None:
            for store in (self.world.oauth_access, self.world.oauth_refresh):
                for key, value in list(store.items()):
                    if value is grant:
                        del store[key]
        return json_response({})
