"""The Quart app factory: security, login, pages, JSON API, health endpoints and the plugin mount."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from quart import Quart, current_app, g, request
from quart.sessions import SessionInterface
from quart_rate_limiter import RateLimitExceeded
from quart_schema import QuartSchema, RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from core.web_mount import WebMount
from webadmin import access, api, auth, dashboard, health, pages
from webadmin.compat import OmoQuart, convert_responses_directly
from webadmin.csrf import init_csrf
from webadmin.errors import error_response
from webadmin.secret import load_secret_key
from webadmin.security import init_security

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

log = structlog.get_logger("omo.web")


class NoSessionInterface(SessionInterface):
    """The dashboard keeps no Quart session (the login lives in quart-auth's cookie): skip its cookie work."""

    async def open_session(self, app: Quart, request: Any) -> None:
        """No session: Quart falls back to a null session."""
        return None

    async def save_session(self, app: Quart, session: Any, response: Any) -> None:
        """Nothing to save."""
        return None


@dataclass
class GuildContext:
    """The guild shown in the sidebar of a guild page."""

    id: int
    name: str
    icon_url: str | None
    initial: str
    nav: list[dashboard.Link] = field(default_factory=list)


async def _template_context() -> dict[str, Any]:
    """``omo_viewer`` on every page; ``omo_guild`` (sidebar) on pages of a guild the viewer may manage."""
    runtime: WebRuntime = current_app.config["OMO_RUNTIME"]
    viewer = await auth.current_user()
    context: dict[str, Any] = {"omo_viewer": viewer, "omo_guild": None, "current_user": auth.quart_auth_user()}
    guild_id = (request.view_args or {}).get("guild_id")
    if isinstance(guild_id, int) and g.get("omo_guild_ok") == guild_id:
        card = dashboard.guild_card(runtime, guild_id)
        if card is not None:
            nav = g.get("omo_guild_nav")  # the overview has just built the same links for its cards
            if nav is None:
                nav = await dashboard.guild_nav(runtime, guild_id)
            context["omo_guild"] = GuildContext(card.id, card.name, card.icon_url, card.initial, nav)
    return context


def _validation_detail(error: Exception) -> Any:
    inner = getattr(error, "validation_error", None)
    errors = getattr(inner, "errors", None)
    if callable(errors):
        return [
            {"field": ".".join(str(p) for p in e.get("loc", ())) or "(body)", "message": e.get("msg", "")}
            for e in errors()
        ]
    return str(inner or "the request body is not valid JSON")


def create_app(runtime: WebRuntime) -> Quart:
    """Build the web admin for ``runtime``; plugin blueprints are mounted by the plugin host."""
    app = OmoQuart(__name__)
    app.config["OMO_RUNTIME"] = runtime
    app.config["SECRET_KEY"] = load_secret_key(runtime.env.secret_key, runtime.env.data_dir)
    app.config["OMO_METRICS"] = health.make_registry(runtime)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.session_interface = NoSessionInterface()  # type: ignore[assignment]
    QuartSchema(
        app,
        openapi_path="/openapi.json",
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path=None,
        openapi_provider_class=api.ApiOnlyProvider,
        info={"title": "omo-bot admin API", "version": "1"},
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
    )
    convert_responses_directly(app)
    login_limit, api_limit = init_security(app)
    auth.init_auth(app)  # sets OMO_ADMIN_CHECK
    init_csrf(app)
    app.context_processor(_template_context)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.make_blueprint(login_limit))
    app.register_blueprint(pages.bp)
    api.init_api(app, api_limit)
    runtime.web_mount = WebMount(app, access.guild_guard, api.plugin_api_alias)

    @app.errorhandler(RequestSchemaValidationError)
    async def invalid_body(error: RequestSchemaValidationError) -> Any:
        return await error_response(400, "invalid request body", detail=_validation_detail(error))

    @app.errorhandler(UnicodeDecodeError)
    async def undecodable(_error: UnicodeDecodeError) -> Any:
        return await error_response(400, "bad request", "The request body is not valid UTF-8 JSON.")

    @app.errorhandler(RateLimitExceeded)
    async def too_many(error: RateLimitExceeded) -> Any:
        response = await error_response(429, "rate limited", "Too many requests: wait a moment and try again.")
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if status in (301, 302, 303, 307, 308):
            return error
        messages = {
            400: "The request could not be understood (is the body valid JSON?).",
            404: "There is nothing here.",
            405: "This address does not accept that method.",
            413: "The request body is too large.",
        }
        return await error_response(status, (error.name or "error").lower(), messages.get(status, error.description))

    @app.errorhandler(Exception)
    async def crashed(error: Exception) -> Any:
        log.error("request failed", exc_info=error)
        return await error_response(500, "internal error", "Something went wrong on our side; it has been logged.")

    return app
