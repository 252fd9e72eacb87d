"""The ``Emulator``: one aiohttp server holding REST, gateway, OAuth2 and the control API."""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import structlog
from aiohttp import web

from . import payloads
from .cdn import CDN
from .control import ControlAPI, control_routes
from .errors import DiscordAPIError
from .events import Events
from .gateway import HEARTBEAT_ACK_DELAY, Gateway
from .live import LiveView
from .oauth import OAuthServer
from .rest import API_PREFIXES, RestAPI, json_response
from .state import Interaction, World

log = structlog.get_logger(__name__)


class RequestRecord(NamedTuple):
    """One REST request the emulator answered."""

    method: str
    path: str
    status: int
    route: str


@dataclass
class Fault:
    """An injected failure for the next ``count`` requests matching ``pattern``."""

    pattern: str
    status: int
    count: int
    retry_after: float = 0.05
    global_: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether ``METHOD /path`` (path relative to ``/api/v10``) matches the pattern."""
        pattern = self.pattern.strip()
        want_method = None
        if " " in pattern:
            want_method, pattern = pattern.split(None, 1)
        if want_method is not None and want_method.upper() not in (method.upper(), "*"):
            return False
        for prefix in API_PREFIXES:
            if pattern.startswith(prefix):
                pattern = pattern[len(prefix) :]
        if not pattern.startswith("/"):
            pattern = "/" + pattern
        glob = _template_to_glob(pattern)
        return fnmatch.fnmatchcase(path, glob)

    def targets_cdn(self) -> bool:
        """Whether the pattern names the CDN (``/attachments/…``, ``/ephemeral-attachments/…``, avatars)."""
        path = self.pattern.strip().split(None, 1)[-1] if " " in self.pattern.strip() else self.pattern.strip()
        return path.lstrip("/").startswith(("attachments/", "ephemeral-attachments/", "embed/avatars/", "avatars/"))

    def response(self) -> web.Response:
        """The 429 or 5xx Discord would send."""
        if self.status == 429:
            scope = "global" if self.global_ else "user"
            headers = {
                "Retry-After": str(max(1, math.ceil(self.retry_after))),
                "X-RateLimit-Scope": scope,
                "Via": "1.1 google",
            }
            if self.global_:
                headers["X-RateLimit-Global"] = "true"
            body = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.global_,
                "code": 0,
            }
            return json_response(body, status=429, headers=headers)
        reason = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(self.status, "Error")
        return json_response({"message": f"{self.status}: {reason}", "code": 0}, status=self.status)


def _template_to_glob(path: str) -> str:
    out = []
    depth = 0
    for ch in path:
        if ch == "{":
            depth += 1
            if depth == 1:
                out.append("*")
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


@dataclass
class BotAction:
    """One thing the bot did through the REST API (message sent, role added, commands synced, ...)."""

    kind: str
    data: dict[str, Any]
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"kind": self.kind, "at": self.at, **{k: _jsonable(v) for k, v in self.data.items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, int) and value > 2**53:
        return str(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class _Bucket:
    __slots__ = ("started", "used")

    def __init__(self, started: float) -> None:
        self.started = started
        self.used = 0


class Emulator(ControlAPI):
    """A local Discord API v10: REST under ``/api/v10``, the gateway at ``/gateway``, OAuth2, and control.

    Use it as an async context manager, or call ``start`` and ``stop``::

        async with Emulator() as emu:
            guild = emu.create_guild("Test")
            point_discord_py_at(emu.base_url)
            ...

    ``heartbeat_interval_ms`` is what HELLO announces (Discord: 41250); ``heartbeat_ack_delay`` is the
    simulated round trip before a heartbeat's ACK (see ``gateway.HEARTBEAT_ACK_DELAY``). ``interaction_ack_timeout``
    is how long the bot has to answer an interaction (Discord: 3 s; ``None`` disables the check).
    ``recommended_shards`` is what ``/gateway/bot`` tells AutoShardedClient. ``rate_limit`` is the
    per-bucket limit reported in the rate-limit headers over a ``rate_limit_window`` of seconds;
    with ``enforce_rate_limits`` exceeding it answers 429 like Discord. ``snowflake_start_ms`` makes ids
    repeatable: built in the same order, the world gets the same ids on every run until
    ``world.snowflakes.thaw()`` (``omo demo`` keeps its guild this way).
    """

    def __init__(
        self,
        *,
        bot_name: str = "omo-test-bot",
        heartbeat_interval_ms: int = 41250,
        heartbeat_ack_delay: float = HEARTBEAT_ACK_DELAY,
        interaction_ack_timeout: float | None = 3.0,
        recommended_shards: int = 1,
        allowed_intents: int = payloads.ALL_INTENTS,
        rate_limit: int = 50,
        rate_limit_window: float = 1.0,
        enforce_rate_limits: bool = False,
        snowflake_start_ms: int | None = None,
    ) -> None:
        self.world = World(bot_name=bot_name, snowflake_start_ms=snowflake_start_ms)
        self.gateway = Gateway(
            self.world,
            heartbeat_interval_ms=heartbeat_interval_ms,
            heartbeat_ack_delay=heartbeat_ack_delay,
            allowed_intents=allowed_intents,
        )
        self.gateway.on_bot_voice_state = self._bot_voice_state
        self.events = Events(self.world, self.gateway)
        self.rest = RestAPI(self)
        self.oauth = OAuthServer(self)
        self.live = LiveView(self)
        self.cdn = CDN(self)
        self.interaction_ack_timeout = interaction_ack_timeout
        self.recommended_shards = recommended_shards
        self.rate_limit = rate_limit
        self.rate_limit_window = rate_limit_window
        self.enforce_rate_limits = enforce_rate_limits
        self.faults: list[Fault] = []
        self.actions: list[BotAction] = []
        self.requests: list[RequestRecord] = []
        self._action_signal = asyncio.Event()
        self._bot_message_cursor = 0
        self._user_mark = 0
        self._buckets: dict[str, _Bucket] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self.app = self._build_app()

    # -- identity --------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running emulator (REST lives under ``/api/v10``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://host:port/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """``ws://host:port/gateway``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def bot_token(self) -> str:
        """The one bot token the emulator accepts."""
        return self.world.bot_token

    @property
    def application_id(self) -> int:
        """The application (and bot user) id."""
        return self.world.application_id

    @property
    def client_secret(self) -> str:
        """The OAuth2 client secret of the application."""
        return self.world.client_secret

    @property
    def bot_user(self) -> Any:
        """The bot's ``User``."""
        return self.world.bot

    # -- lifecycle -------------------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=25 * 1024 * 1024)
        for prefix in API_PREFIXES:
            for method, path, handler in self.rest.routes() + self.oauth.api_routes():
                app.router.add_route(method, prefix + path, handler)  # type: ignore[arg-type]
        for method, path, handler in self.oauth.routes():
            app.router.add_route(method, path, handler)  # type: ignore[arg-type]
        for _method, path, handler in self.cdn.routes():
            app.router.add_get(path, handler)  # GET and HEAD
        app.router.add_get("/gateway", self.gateway.handle)
        for _method, path, handler in self.live.routes():
            app.router.add_get(path, handler)  # "/" is the gateway for a websocket upgrade, else the live page
        for method, path, handler in control_routes(self):
            app.router.add_route(method, "/_emulator" + path, handler)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Emulator:
        """Listen on ``host:port`` (0 picks a free port). Returns self."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port)
        await self._site.start()
        server = self._site._server
        sockets = getattr(server, "sockets", None) or []
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        self.gateway.url = self.gateway_url
        log.info("discord emulator listening", base_url=self.base_url)
        return self

    async def stop(self) -> None:
        """Close every gateway socket and stop listening."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("discord emulator stopped")

    async def __aenter__(self) -> Emulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- recording -------------------------------------------------------------------------------------

    def record(self, kind: str, **data: Any) -> None:
        """Append to the audit list of what the bot did, and wake waiters."""
        self.actions.append(BotAction(kind, data))
        self._action_signal.set()

    def interaction_message_fields(self, inter: Interaction) -> dict[str, Any]:
        """Fields of a message sent in answer to an interaction (type, webhook, interaction metadata)."""
        user = payloads.user(self.world.users[inter.user_id])
        metadata: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "user": user,
            "authorizing_integration_owners": {"0": str(inter.guild_id)}
            if inter.guild_id
            else {"1": str(inter.user_id)},
        }
        if inter.type == 2:
            metadata["name"] = inter.data.get("name")
            metadata["command_type"] = inter.data.get("type", 1)
        if inter.message_id is not None:
            metadata["interacted_message_id"] = str(inter.message_id)
        msg_type = 20 if inter.type == 2 and inter.data.get("type", 1) == 1 else (23 if inter.type == 2 else 0)
        return {
            "type": msg_type,
            "webhook_id": self.world.application_id,
            "application_id": self.world.application_id,
            "interaction_metadata": metadata,
        }

    # -- fault injection and rate-limit headers --------------------------------------------------------

    def fail_next(
        self,
        route_pattern: str,
        status: int = 429,
        count: int = 1,
        retry_after: float = 0.05,
        global_: bool = False,
    ) -> Fault:
        """Make the next ``count`` requests matching ``route_pattern`` fail with ``status``.

        ``route_pattern`` is ``"METHOD /path"`` or ``"/path"`` relative to ``/api/v10``; ``*`` and
        ``{name}`` match one path segment or more, e.g. ``"POST /channels/{channel_id}/messages"``.
        A 429 carries Discord's body (``retry_after``, ``global``) and headers. Patterns naming the
        attachment CDN (``"GET /attachments/*"``, ``"/ephemeral-attachments/*"``) fail downloads
        instead; no other pattern touches them. Returns the fault,
        whose ``hits`` counts the requests it answered.
        """
        fault = Fault(route_pattern, status, count, retry_after, global_)
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str, *, cdn: bool = False) -> Fault | None:
        """The injected fault that answers this request, if any (and count it).

        CDN downloads (``cdn=True``) only take faults whose pattern names ``/attachments/…`` or
        ``/ephemeral-attachments/…``, so ``fail_next("*")`` keeps meaning the REST API.
        """
        for fault in self.faults:
            if cdn != fault.targets_cdn():
                continue
            if fault.count > 0 and fault.matches(method, path):
                fault.count -= 1
                fault.hits += 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _rate_headers(self, request: web.Request, route_key: str) -> tuple[dict[str, str], bool]:
        info = request.match_info
        major = (
            info.get("channel_id")
            or info.get("guild_id")
            or (f"{info.get('webhook_id')}:{info.get('webhook_token', '')}" if "webhook_id" in info else "")
            or info.get("interaction_id", "")
        )
        bucket_hash = hashlib.sha1(route_key.encode(), usedforsecurity=False).hexdigest()[:16]
        key = f"{bucket_hash}:{major}"
        now = time.time()
        bucket = self._buckets.get(key)
        if bucket is None or now - bucket.started >= self.rate_limit_window:
            bucket = self._buckets[key] = _Bucket(now)
        bucket.used += 1
        over = bucket.used > self.rate_limit
        remaining = max(0, self.rate_limit - bucket.used)
        reset = bucket.started + self.rate_limit_window
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{max(0.0, reset - now):.3f}",
            "X-RateLimit-Bucket": bucket_hash,
            "Via": "1.1 google",
        }
        return headers, over

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        prefix = next((p for p in API_PREFIXES if path.startswith(p + "/") or path == p), None)
        if prefix is None:
            return await handler(request)
        api_path = path[len(prefix) :]
        resource = request.match_info.route.resource
        canonical = resource.canonical[len(prefix) :] if resource is not None else api_path
        route_key = f"{request.method} {canonical}"
        headers, over = self._rate_headers(request, route_key)
        fault = self.take_fault(request.method, api_path)
        if fault is not None:
            response: web.StreamResponse = fault.response()
            if fault.status == 429:
                headers["X-RateLimit-Remaining"] = "0"
            log.debug("emulator injected failure", route=route_key, status=fault.status)
        elif over and self.enforce_rate_limits:
            retry = float(headers["X-RateLimit-Reset-After"])
            response = Fault(route_key, 429, 1, retry_after=retry).response()
        else:
            try:
                response = await handler(request)
            except DiscordAPIError as exc:
                response = json_response(exc.body(), status=exc.status)
            except web.HTTPNotFound:
                response = json_response({"message": "404: Not Found", "code": 0}, status=404)
            except web.HTTPMethodNotAllowed:
                response = json_response({"message": "405: Method Not Allowed", "code": 0}, status=405)
            except web.HTTPException:
                raise
            except Exception:
                log.exception("emulator route failed", route=route_key)
                response = json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        self.requests.append(RequestRecord(request.method, api_path, response.status, route_key))
        return response
