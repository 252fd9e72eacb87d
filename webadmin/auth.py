"""Who is asking: Discord OAuth2 login, the session cookie, operator bearer tokens and permission checks.

Public API (for webadmin and plugin blueprints):

- ``await current_user()`` -> :class:`Viewer` or None (logged-in user, or operator bearer token);
- ``await admin_guilds()`` -> the guild entries the current user may manage;
- ``await can_manage_guild(viewer, guild_id)``;
- ``await admin_check(guild_id)`` -> None or a deny response (installed as ``app.config["OMO_ADMIN_CHECK"]``);
- decorators ``require_login``, ``require_guild_admin`` (the view takes ``guild_id``) and ``require_operator``.

The cookie (quart-auth, signed with the app's secret key) holds only the ``WebSession`` id; Discord's
access and refresh tokens stay in the database and never reach the browser or a log line.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import quote

import structlog
from itsdangerous import BadSignature, URLSafeTimedSerializer
from quart import Blueprint, Quart, current_app, g, redirect, request
from quart_auth import AuthUser, login_user, logout_user
from quart_rate_limiter import RateLimit, limit_blueprint

from core.models import WebSession
from webadmin.compat import OmoAuth
from webadmin.discord_oauth import DiscordClient, DiscordOAuthError, authorize_url, can_manage, oauth_config
from webadmin.errors import error_response
from webadmin.security import is_secure_request
from webadmin.tokens import verify_token

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

log = structlog.get_logger("omo.web.auth")

COOKIE_NAME = "omo_session"
STATE_COOKIE = "omo_oauth_state"
STATE_MAX_AGE = 600
SESSION_DAYS = 30
#: The user's guild list (and permissions) is fetched again from Discord after this long.
GUILDS_TTL = timedelta(minutes=5)
#: Session and token rows are cached in-process this long (logout and revoke clear them at once, here and
#: through the bus in the other processes).
ROW_CACHE_SECONDS = 5.0
#: A bearer token verified by this process has a rate-limit bucket of its own for this long.
VERIFIED_TOKEN_SECONDS = 600.0
#: Bus topic: drop a cached session or token row (``{"key": "s:<id>" | "t:<hash>"}``).
FORGET_TOPIC = "web.forget"

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Viewer:
    """The person (or script) behind a request."""

    user_id: int
    username: str
    avatar: str | None
    operator: bool
    via: str  # "session" or "token"
    session: WebSession | None = None
    token_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def avatar_url(self) -> str | None:
        """Discord CDN URL of the avatar."""
        if not self.avatar:
            return None
        return f"https://cdn.discordapp.com/avatars/{self.user_id}/{self.avatar}.png?size=64"


class SessionExpired(Exception):
    """Discord no longer accepts the session's tokens: the user must log in again."""


def init_auth(app: Quart) -> None:
    """Install quart-auth, the Discord client and the permission check on ``app``."""
    runtime: WebRuntime = app.config["OMO_RUNTIME"]
    extension = OmoAuth(
        app,
        cookie_name=COOKIE_NAME,
        cookie_samesite="Lax",
        cookie_http_only=True,
        duration=SESSION_DAYS * 86400,
        salt="omo-session",
    )
    app.extensions["omo_auth"] = extension
    app.extensions["omo_discord"] = DiscordClient(oauth_config(runtime))
    app.extensions["omo_row_cache"] = {}
    app.extensions["omo_used_states"] = {}
    app.extensions["omo_verified_tokens"] = {}
    app.config["OMO_ADMIN_CHECK"] = admin_check
    row_cache: dict[str, tuple[float, Any]] = app.extensions["omo_row_cache"]

    def forget_remote(payload: dict[str, Any]) -> None:  # another process ended a session or revoked a token
        row_cache.pop(str(payload.get("key")), None)

    runtime.bus.subscribe(FORGET_TOPIC, forget_remote)

    @app.after_serving
    async def _close_discord() -> None:
        runtime.bus.unsubscribe(FORGET_TOPIC, forget_remote)
        await app.extensions["omo_discord"].close()


def discord_client() -> DiscordClient:
    """The app's Discord OAuth client (its redirect URI follows the runtime's public URL)."""
    client: DiscordClient = current_app.extensions["omo_discord"]
    runtime: WebRuntime = current_app.config["OMO_RUNTIME"]
    config = oauth_config(runtime)
    if config != client.config:  # the web port is known only once the server listens
        client.config = config
    return client


def runtime_of_app() -> WebRuntime:
    """The runtime serving the current request."""
    return current_app.config["OMO_RUNTIME"]  # type: ignore[no-any-return]


# -------------------------------------------------------------------------------------------- who is asking


def quart_auth_user() -> AuthUser:
    """quart-auth's user of the current request (its ``auth_id`` is the WebSession id, or None)."""
    return current_app.extensions["omo_auth"].load_user()  # type: ignore[no-any-return]


def session_id_from_cookie() -> str | None:
    """The WebSession id in the request's (validly signed) session cookie, or None."""
    return quart_auth_user().auth_id


def _cache() -> dict[str, tuple[float, Any]]:
    return current_app.extensions["omo_row_cache"]  # type: ignore[no-any-return]


async def forget_cached(key: str) -> None:
    """Drop a cached session (``s:<id>``) or token (``t:<hash>``) row here and in the other processes.

    Without this, an ended session or a revoked token would still be accepted for up to
    ``ROW_CACHE_SECONDS`` by the other web processes sharing the database.
    """
    _cache().pop(key, None)
    await runtime_of_app().bus.publish(FORGET_TOPIC, {"key": key})


async def _cached(key: str, load: Callable[[], Awaitable[Any]]) -> Any:
    cache = _cache()
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < ROW_CACHE_SECONDS:
        return hit[1]
    value = await load()
    if len(cache) > 10000:
        cache.clear()
    cache[key] = (now, value)
    return value


def bearer_secret() -> str | None:
    """The bearer token of the request, if any."""
    raw = request.headers.get("Authorization", "")
    if raw[:7].lower() == "bearer ":
        return raw[7:].strip() or None
    return None


def verified_bearer_hash() -> str | None:
    """The hash of the request's bearer token if this process has verified it in the last
    ``VERIFIED_TOKEN_SECONDS`` (no database lookup), else None: an unknown, made-up or not yet checked token
    is not an identity of its own. Only the rate limiter's bucket depends on this; access is checked anew."""
    secret = bearer_secret()
    if secret is None:
        return None
    from webadmin.tokens import hash_token

    digest = hash_token(secret)
    verified: dict[str, float] = current_app.extensions["omo_verified_tokens"]
    expiry = verified.get(digest)
    if expiry is None or expiry < time.monotonic():
        return None
    return digest


def _remember_verified(digest: str) -> None:
    verified: dict[str, float] = current_app.extensions["omo_verified_tokens"]
    if len(verified) > 10000:  # bounded: only operators' real tokens get here
        verified.clear()
    verified[digest] = time.monotonic() + VERIFIED_TOKEN_SECONDS


async def current_user() -> Viewer | None:
    """The logged-in user (session cookie) or the operator behind a bearer token; None when anonymous.

    A valid session cookie wins over a bearer token.
    """
    request_globals = g._get_current_object()  # type: ignore[attr-defined]
    if "omo_viewer" in request_globals:
        return request_globals.omo_viewer  # type: ignore[no-any-return]
    viewer: Viewer | None = None
    runtime = runtime_of_app()
    session_id = session_id_from_cookie()
    if session_id is not None:
        row = await _cached(f"s:{session_id}", lambda: WebSession.get_or_none(id=session_id))
        if row is not None:
            viewer = Viewer(
                int(row.user_id),
                row.username,
                row.avatar,
                runtime.is_operator(int(row.user_id)),
                "session",
                session=row,
            )
    if viewer is None and (secret := bearer_secret()) is not None:
        from webadmin.tokens import hash_token

        digest = hash_token(secret)
        token = await _cached(f"t:{digest}", lambda: verify_token(secret))
        # a token acts as the operator who created it, and only while they are an operator
        if token is not None and token.revoked_at is None and runtime.is_operator(int(token.created_by)):
            _remember_verified(digest)
            viewer = Viewer(
                int(token.created_by),
                f"token {token.name}",
                None,
                runtime.is_operator(int(token.created_by)),
                "token",
                token_id=token.id,
            )
    request_globals.omo_viewer = viewer
    if viewer is not None:
        structlog.contextvars.bind_contextvars(user_id=viewer.user_id)
    return viewer


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def fresh_access_token(session: WebSession) -> str:
    """The session's access token, refreshed first if it has expired; raises :class:`SessionExpired`."""
    expires = _aware(session.expires_at)
    if expires is not None and expires - timedelta(minutes=1) > datetime.now(UTC):
        return session.access_token
    if not session.refresh_token:
        raise SessionExpired
    try:
        tokens = await discord_client().refresh(session.refresh_token)
    except DiscordOAuthError as exc:
        log.info("token refresh failed", reason=exc.reason, user_id=session.user_id)
        if exc.status == 401:
            raise SessionExpired from None
        raise
    session.access_token = tokens.access_token
    session.refresh_token = tokens.refresh_token or session.refresh_token
    session.expires_at = tokens.expires_at
    await session.save(update_fields=["access_token", "refresh_token", "expires_at"])
    return session.access_token


async def session_guilds(session: WebSession, *, force: bool = False) -> list[dict[str, Any]]:
    """The user's guilds (with permissions) as Discord last told us, fetched again when stale.

    If Discord cannot be reached the last known list is used; if it refuses the tokens,
    :class:`SessionExpired` is raised.
    """
    fetched = _aware(session.guilds_fetched_at)
    if not force and fetched is not None and datetime.now(UTC) - fetched < GUILDS_TTL:
        return list(session.guilds or [])
    try:
        token = await fresh_access_token(session)
        guilds = await discord_client().guilds(token)
    except DiscordOAuthError as exc:
        log.warning("could not refresh the guild list", reason=exc.reason, user_id=session.user_id)
        if exc.status == 401:
            raise SessionExpired from None
        return list(session.guilds or [])
    session.guilds = guilds
    session.guilds_fetched_at = datetime.now(UTC)
    await session.save(update_fields=["guilds", "guilds_fetched_at"])
    return guilds


async def end_session(session: WebSession) -> None:
    """Delete a session row (logout or expired tokens)."""
    await WebSession.filter(id=session.id).delete()
    await forget_cached(f"s:{session.id}")


async def admin_guilds(viewer: Viewer | None = None, *, force: bool = False) -> list[dict[str, Any]]:
    """Guild entries (``id`` as a string, ``name``, ``icon``, ...) the user has Manage Server or Administrator in.

    Operators using a bearer token get every guild the bot is in.
    """
    viewer = viewer or await current_user()
    if viewer is None:
        return []
    if viewer.session is None:
        if not viewer.operator:
            return []
        bot = runtime_of_app().bot
        return [
            {
                "id": str(gd.id),
                "name": gd.name,
                "icon": gd.icon.key if gd.icon else None,
                "owner": False,
                "permissions": "0",
            }
            for gd in (bot.guilds if bot is not None else [])
        ]
    return [gd for gd in await session_guilds(viewer.session, force=force) if can_manage(gd)]


async def can_manage_guild(viewer: Viewer, guild_id: int) -> bool:
    """Operators manage every guild; others need Manage Server or Administrator there."""
    if viewer.operator:
        return True
    session = viewer.session
    if session is None:
        return False
    guilds = await session_guilds(session)  # fetched again from Discord when stale
    # the set of manageable ids is kept on the (briefly cached) row until the guild list is fetched again
    cached = session.__dict__.get("_omo_admin_ids")
    if cached is None or cached[0] != session.guilds_fetched_at:
        cached = (session.guilds_fetched_at, {str(gd.get("id")) for gd in guilds if can_manage(gd)})
        session.__dict__["_omo_admin_ids"] = cached
    return str(guild_id) in cached[1]


async def _deny_anonymous() -> Any:
    if bearer_secret() is not None:
        return await error_response(401, "invalid token", "The API token is unknown or revoked.")
    return await error_response(401, "not logged in", "Log in with Discord to continue.")


async def admin_check(guild_id: int) -> Any:
    """None when the current user may manage ``guild_id``; otherwise a 401 or 403 response."""
    viewer = await current_user()
    if viewer is None:
        return await _deny_anonymous()
    try:
        allowed = await can_manage_guild(viewer, guild_id)
    except SessionExpired:
        if viewer.session is not None:
            await end_session(viewer.session)
        logout_user()
        return await error_response(401, "session expired", "Your Discord login has expired. Log in again.")
    if allowed:
        g.omo_guild_ok = guild_id
        return None
    log.info("guild access refused", guild_id=guild_id, path=request.path)
    return await error_response(
        403, "not a server admin", "You need the Manage Server or Administrator permission in this server."
    )


async def operator_check() -> Any:
    """None when the current user is an operator; otherwise a 401 or 403 response."""
    viewer = await current_user()
    if viewer is None:
        return await _deny_anonymous()
    if viewer.operator:
        return None
    return await error_response(403, "operators only", "Only the bot's operators can do this.")


def require_login(view: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | Any]]:
    """Decorator: 401 unless a user is logged in (or an operator token is used)."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        if await current_user() is None:
            return await _deny_anonymous()
        return await view(*args, **kwargs)

    return wrapper


def require_guild_admin(view: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | Any]]:
    """Decorator for views taking ``guild_id``: 401/403 unless the user may manage that guild."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        guild_id = kwargs.get("guild_id")
        if not isinstance(guild_id, int):
            return await error_response(404, "not found", "There is nothing here.")
        denial = await admin_check(guild_id)
        if denial is not None:
            return denial
        return await view(*args, **kwargs)

    return wrapper


def require_operator(view: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | Any]]:
    """Decorator: 401/403 unless the user is an operator."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        denial = await operator_check()
        if denial is not None:
            return denial
        return await view(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------- the login


def _state_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="omo-oauth-state")


#: A path on this site as a browser reads it: visible ASCII only (browsers drop tabs and newlines anywhere in
#: a URL and read ``\\`` as ``/``, so ``/\\t/evil.example`` would become ``//evil.example``), not ``//``.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")
#: Longest ``next`` kept (longer ones are not a page of ours).
NEXT_MAX_LENGTH = 2000


def safe_next(value: str | None) -> str:
    """The page to go to after login: ``/guilds`` without ``value``; ``value`` if it is a path on this site even
    after a browser's URL clean-up (no control characters or whitespace anywhere, no backslash, no ``//``);
    else ``/``."""
    if not value:
        return "/guilds"
    if len(value) <= NEXT_MAX_LENGTH and _LOCAL_PATH.fullmatch(value):
        return value
    return "/"


def _state_used(state: str) -> bool:
    used: dict[str, float] = current_app.extensions["omo_used_states"]
    now = time.monotonic()
    for key in [k for k, expiry in used.items() if expiry < now]:
        del used[key]
    if state in used:
        return True
    used[state] = now + STATE_MAX_AGE
    return False


async def login() -> Any:
    """Send the browser to Discord's consent screen with a fresh, single-use ``state``."""
    client = discord_client()
    if not client.config.configured:
        log.error("login is not configured: DISCORD_CLIENT_ID / DISCORD_CLIENT_SECRET missing")
        return await error_response(
            503,
            "login not configured",
            "Login is not configured on this bot: the operator must set DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET.",
            title="Login unavailable",
        )
    state = secrets.token_urlsafe(24)
    response = redirect(authorize_url(client.config, state))
    cookie = _state_serializer().dumps({"s": state, "n": safe_next(request.args.get("next"))})
    response.set_cookie(
        STATE_COOKIE,
        cookie,
        max_age=STATE_MAX_AGE,
        path="/auth",
        httponly=True,
        samesite="Lax",
        secure=is_secure_request(),
    )
    return response


async def _login_failed(status: int, title: str, message: str, reason: str) -> Any:
    log.warning("login failed", reason=reason)
    response = await error_response(status, reason, message, title=title, retry_link="/auth/login")
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response


async def callback() -> Any:
    """Discord sends the browser back here: check ``state``, trade the code, start a session."""
    args = request.args
    raw = request.cookies.get(STATE_COOKIE)
    try:
        saved = _state_serializer().loads(raw, max_age=STATE_MAX_AGE) if raw else None
    except BadSignature:
        saved = None
    state = args.get("state", "")
    if not saved or not state or not secrets.compare_digest(str(saved.get("s", "")), state) or _state_used(state):
        return await _login_failed(
            400,
            "Login link expired",
            "This login was not started here, has expired or was already used. Start the login again.",
            "bad or reused state",
        )
    if args.get("error"):
        reason = "access_denied" if args.get("error") == "access_denied" else "discord error"
        return await _login_failed(
            400,
            "Login cancelled",
            "Discord did not grant access (the request was cancelled). You can try again.",
            reason,
        )
    code = args.get("code")
    if not code:
        return await _login_failed(400, "Login failed", "Discord sent no authorization code.", "no code")
    client = discord_client()
    try:
        tokens = await client.exchange_code(code)
        user = await client.user(tokens.access_token)
        guilds = await client.guilds(tokens.access_token)
    except DiscordOAuthError as exc:
        return await _login_failed(exc.status, "Login failed", str(exc), exc.reason)
    session = await WebSession.create(
        id=secrets.token_urlsafe(32),
        user_id=int(user["id"]),
        username=str(user.get("global_name") or user.get("username") or user["id"])[:100],
        avatar=user.get("avatar"),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        guilds=guilds,
        guilds_fetched_at=datetime.now(UTC),
    )
    login_user(AuthUser(session.id), remember=True)
    log.info("login", user_id=session.user_id, guilds=len(guilds))
    response = redirect(safe_next(saved.get("n")))
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response


async def logout() -> Any:
    """End the session (CSRF-checked like every POST) and revoke the Discord token."""
    viewer = await current_user()
    if viewer is not None and viewer.session is not None:
        await end_session(viewer.session)
        await discord_client().revoke(viewer.session.access_token)
        log.info("logout", user_id=viewer.user_id)
    logout_user()
    return redirect("/")


def login_url(next_path: str) -> str:
    """The login URL that comes back to ``next_path``."""
    return "/auth/login?next=" + quote(next_path, safe="")


def make_blueprint(login_limit: RateLimit) -> Blueprint:
    """The ``/auth`` routes, rate limited per client address by ``login_limit``."""
    bp = Blueprint("auth", __name__, url_prefix="/auth")
    limit_blueprint(bp, limits=[login_limit])
    bp.add_url_rule("/login", view_func=login, methods=["GET"])
    bp.add_url_rule("/callback", view_func=callback, methods=["GET"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    return bp
