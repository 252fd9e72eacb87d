"""The JSON API under ``/api/v1``: validated and documented with quart-schema (OpenAPI at ``/openapi.json``).

Same permission checks as the pages. Browsers call it with the session cookie and the CSRF header;
scripts with ``Authorization: Bearer <operator token>``. Errors are ``{"error": ..., "detail": ...}``.

Every plugin blueprint also gets ``/api/v1/guilds/<guild_id>/<plugin>/<rest>`` for free: the plugin's own
route ``/guilds/<guild_id>/<plugin>/api/<rest>`` is mounted at both addresses (one endpoint, two rules), so
either is dispatched by Quart as usual: same view, guard, hooks, error handlers and rate limit.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from quart import Blueprint, Quart, current_app, render_template, request
from quart_rate_limiter import RateLimit, limit_blueprint
from quart_schema import document_response, hide, tag, validate_request, validate_response
from quart_schema.openapi import OpenAPIProvider
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from webadmin import dashboard
from webadmin.auth import admin_guilds, current_user, require_guild_admin, require_login, require_operator
from webadmin.compat import RequestRateLimiter
from webadmin.errors import error_response

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

log = structlog.get_logger("omo.web.api")


# ------------------------------------------------------------------------------------------------ models


class ErrorOut(BaseModel):
    """Every error: a short reason and details (a sentence, or the invalid fields)."""

    error: str
    detail: Any = None


class MeOut(BaseModel):
    """The caller."""

    id: str = Field(description="Discord user id (a string: snowflakes exceed JavaScript's integers)")
    username: str
    avatar_url: str | None
    operator: bool
    via: Literal["session", "token"]


class GuildOut(BaseModel):
    """A server the caller may manage."""

    id: str
    name: str
    icon_url: str | None
    bot_present: bool
    invite_url: str | None = None


class GuildsOut(BaseModel):
    """Servers with the bot the caller manages, servers to invite it to, and (operators) every other one."""

    manage: list[GuildOut]
    invite: list[GuildOut]
    operator_only: list[GuildOut]


class LinkOut(BaseModel):
    """A plugin page."""

    label: str
    url: str


class PluginOut(BaseModel):
    """A plugin in a guild."""

    name: str
    version: str
    description: str
    enabled: bool
    status: str | None
    links: list[LinkOut]


class PluginsOut(BaseModel):
    """The plugins running in this process, as seen from one guild."""

    guild_id: str
    plugins: list[PluginOut]


class SwitchIn(BaseModel):
    """Switch a plugin on or off in a guild."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool


class OperatorPluginOut(BaseModel):
    """A plugin as the operator sees it."""

    name: str
    version: str | None
    state: str
    error: str | None
    source: str
    guilds: int = Field(description="servers where it is switched on")
    reloads: int


class OperatorPluginsOut(BaseModel):
    """Every known plugin, and whether plugins.toml was accepted."""

    plugins: list[OperatorPluginOut]
    plugins_file_error: str | None


class ReloadOut(BaseModel):
    """A successful reload."""

    plugin: str
    old_version: str
    new_version: str
    seconds: float
    commands_changed: bool


# ------------------------------------------------------------------------------------------------ helpers


def _runtime() -> WebRuntime:
    return current_app.config["OMO_RUNTIME"]  # type: ignore[no-any-return]


def _guild_out(card: dashboard.GuildCard) -> GuildOut:
    return GuildOut(
        id=str(card.id),
        name=card.name,
        icon_url=card.icon_url,
        bot_present=card.bot_present,
        invite_url=card.invite_url,
    )


async def _plugins_out(guild_id: int) -> PluginsOut:
    cards = await dashboard.plugin_cards(_runtime(), guild_id)
    return PluginsOut(
        guild_id=str(guild_id),
        plugins=[
            PluginOut(
                name=c.name,
                version=c.version,
                description=c.description,
                enabled=c.enabled,
                status=c.status,
                links=[LinkOut(label=link.label, url=link.url) for link in c.links],
            )
            for c in cards
        ],
    )


# ------------------------------------------------------------------------------------------------- routes


async def me() -> Any:
    """Who the caller is (session user or the operator behind a token)."""
    viewer = await current_user()
    assert viewer is not None
    return MeOut(
        id=str(viewer.user_id),
        username=viewer.username,
        avatar_url=viewer.avatar_url,
        operator=viewer.operator,
        via="token" if viewer.via == "token" else "session",
    )


async def guilds() -> Any:
    """The caller's servers (the same lists as the server picker)."""
    viewer = await current_user()
    assert viewer is not None
    picker = dashboard.guild_picker(_runtime(), await admin_guilds(viewer), viewer.operator)
    return GuildsOut(
        manage=[_guild_out(c) for c in picker.manage],
        invite=[_guild_out(c) for c in picker.invite],
        operator_only=[_guild_out(c) for c in picker.operator_only],
    )


async def guild_plugins(guild_id: int) -> Any:
    """Each running plugin with its switch, status line and pages in the guild."""
    if dashboard.guild_card(_runtime(), guild_id) is None:
        return await error_response(404, "bot not in server", "The bot is not in this server.")
    return await _plugins_out(guild_id)


async def switch_plugin(guild_id: int, plugin: str, data: SwitchIn) -> Any:
    """Switch a plugin on or off in the guild; answers with the plugin's new state."""
    runtime = _runtime()
    if dashboard.guild_card(runtime, guild_id) is None:
        return await error_response(404, "bot not in server", "The bot is not in this server.")
    viewer = await current_user()
    assert viewer is not None
    try:
        await dashboard.switch_plugin(runtime, guild_id, plugin, data.enabled, viewer.user_id)
    except dashboard.UnknownPlugin as exc:
        return await error_response(404, "unknown plugin", str(exc))
    out = await _plugins_out(guild_id)
    return next(p for p in out.plugins if p.name == plugin)


async def operator_plugins() -> Any:
    """Every plugin with version, state, error, servers using it and reload count."""
    runtime = _runtime()
    return OperatorPluginsOut(
        plugins=[
            OperatorPluginOut(
                name=r.name,
                version=r.version,
                state=r.state,
                error=r.error,
                source=r.source,
                guilds=r.guilds,
                reloads=r.reloads,
            )
            for r in dashboard.operator_rows(runtime)
        ],
        plugins_file_error=runtime.plugins_file_error,
    )


async def reload_plugin(name: str) -> Any:
    """Reload a running plugin; 409 with the error when it fails (the old version stays live)."""
    runtime = _runtime()
    if name not in runtime.host.records:
        return await error_response(404, "unknown plugin", f"there is no plugin called {name!r}")
    outcome = await dashboard.reload_plugin(runtime, name)
    viewer = await current_user()
    log.info(
        "reload from the API",
        plugin=name,
        ok=outcome.ok,
        error=outcome.error,
        user_id=viewer.user_id if viewer else None,
    )
    if outcome.report is None:
        return await error_response(409, "reload failed", outcome.error)
    report = outcome.report
    return ReloadOut(
        plugin=report.plugin,
        old_version=report.old_version,
        new_version=report.new_version,
        seconds=round(report.seconds, 4),
        commands_changed=report.commands_changed,
    )


# ----------------------------------------------------------------------------- plugin API routes, aliased

PLUGIN_API_RULE = re.compile(r"^/guilds/<int:guild_id>/(?P<plugin>[^/<]+)/api(?P<rest>/.*)?$")
PLUGIN_API_ALIAS = re.compile(r"^/api/v1/guilds/<int:guild_id>/(?P<plugin>[^/<]+)/")


def plugin_api_alias(rule: str) -> str | None:
    """The ``/api/v1`` address of a plugin route under ``api/`` (None for its other routes).

    ``/guilds/<int:guild_id>/<plugin>/api/<rest>`` -> ``/api/v1/guilds/<int:guild_id>/<plugin>/<rest>``.
    """
    match = PLUGIN_API_RULE.match(rule)
    if match is None:
        return None
    return f"/api/v1/guilds/<int:guild_id>/{match['plugin']}{match['rest'] or '/'}"


def is_plugin_api_route(endpoint: str, rule: str) -> bool:
    """Whether ``rule`` of ``endpoint`` is a plugin's API route, at its own address or its ``/api/v1`` one."""
    match = PLUGIN_API_RULE.match(rule) or PLUGIN_API_ALIAS.match(rule)
    return match is not None and endpoint.startswith(match["plugin"] + ".")


async def no_plugin_route(guild_id: int, plugin: str, rest: str = "") -> Any:
    """``/api/v1/guilds/<id>/<plugin>/<rest>`` where no plugin route answers: 401/403 for anyone who may not
    manage the server (so the API does not reveal which plugins exist), else 405 if the plugin has the route
    for other methods, else 404."""
    denial = await current_app.config["OMO_ADMIN_CHECK"](guild_id)
    if denial is not None:
        return denial
    adapter = current_app.url_map.bind("omo.invalid", url_scheme=request.scheme)
    with contextlib.suppress(NotFound, RequestRedirect):
        try:
            adapter.match(f"/guilds/{guild_id}/{plugin}/api/{rest}", method=request.method)
        except MethodNotAllowed:
            return await error_response(405, "method not allowed", f"{request.method} is not allowed here")
    return await error_response(404, "not found", f"the {plugin} plugin has no API route /{rest}")


# ------------------------------------------------------------------------------------------- docs, errors


class ApiOnlyProvider(OpenAPIProvider):
    """The OpenAPI document covers the JSON API and the health endpoints, not the HTML pages.

    Plugin API routes are documented once, at their ``/api/v1/guilds/{guild_id}/<plugin>/...`` address,
    tagged with the plugin's name.
    """

    def generate_rules(self) -> Any:
        """Rules under ``/api/v1`` (with the plugin API aliases), ``/healthz`` and ``/readyz``."""
        for rule in super().generate_rules():
            if rule.rule.startswith("/api/v1/") or rule.rule in ("/healthz", "/readyz"):
                yield rule

    def build_paths(self, rule: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Paths of ``rule``; a plugin API route is tagged with its plugin."""
        paths, components = super().build_paths(rule)
        if is_plugin_api_route(rule.endpoint, rule.rule):
            plugin = rule.endpoint.split(".", 1)[0]
            for item in paths.values():
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation["tags"] = sorted({*operation.get("tags", []), plugin})
        return paths, components


async def api_docs() -> Any:
    """A server-rendered, offline reference of the API built from the OpenAPI document."""
    schema = current_app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary") or "",
                    "description": op.get("description") or "",
                    "body": _schema_name(body),
                    "responses": sorted((op.get("responses") or {}).keys()),
                    "tags": op.get("tags") or [],
                }
            )
    return await render_template(
        "api_docs.html",
        operations=operations,
        schema=schema,
        components=schema.get("components", {}).get("schemas", {}),
    )


def _schema_name(schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else schema.get("title")


def make_blueprint(api_limit: RateLimit) -> Blueprint:
    """The ``/api/v1`` routes, rate limited per user/token by ``api_limit``."""
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    limit_blueprint(bp, limits=[api_limit])

    def add(path: str, view: Any, methods: list[str], *decorators: Any) -> None:
        decorators = (*decorators, document_response(ErrorOut, 401), document_response(ErrorOut, 403))
        for decorator in reversed(decorators):
            view = decorator(view)
        bp.add_url_rule(path, view_func=view, methods=methods)

    # permission decorators sit outside validate_request: a stranger learns nothing from a 400
    add("/me", me, ["GET"], tag(["account"]), validate_response(MeOut), require_login)
    add("/guilds", guilds, ["GET"], tag(["guilds"]), validate_response(GuildsOut), require_login)
    add(
        "/guilds/<int:guild_id>/plugins",
        guild_plugins,
        ["GET"],
        tag(["guilds"]),
        validate_response(PluginsOut),
        document_response(ErrorOut, 404),
        require_guild_admin,
    )
    add(
        "/guilds/<int:guild_id>/plugins/<plugin>",
        switch_plugin,
        ["PUT"],
        tag(["guilds"]),
        require_guild_admin,
        validate_request(SwitchIn),
        validate_response(PluginOut),
        document_response(ErrorOut, 400),
        document_response(ErrorOut, 404),
    )
    add(
        "/operator/plugins",
        operator_plugins,
        ["GET"],
        tag(["operator"]),
        validate_response(OperatorPluginsOut),
        require_operator,
    )
    add(
        "/operator/plugins/<name>/reload",
        reload_plugin,
        ["POST"],
        tag(["operator"]),
        require_operator,
        validate_response(ReloadOut),
        document_response(ErrorOut, 404),
        document_response(ErrorOut, 409),
    )
    # plugin API routes are mounted at /api/v1/guilds/<id>/<plugin>/... too (see plugin_api_alias); these
    # rules only catch what no plugin route answers there
    missing = hide(no_plugin_route)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    bp.add_url_rule("/guilds/<int:guild_id>/<plugin>/", view_func=missing, methods=methods)
    bp.add_url_rule("/guilds/<int:guild_id>/<plugin>/<path:rest>", view_func=missing, methods=methods)
    return bp


def init_api(app: Quart, api_limit: RateLimit) -> None:
    """Register the API and its docs page on ``app``; plugin API routes get the API's rate limit (at both
    addresses: one endpoint, one bucket per caller)."""
    app.register_blueprint(make_blueprint(api_limit))
    limiter: RequestRateLimiter = app.extensions["omo_rate_limiter"]
    limiter.route_limits = lambda endpoint, rule: [api_limit] if is_plugin_api_route(endpoint, rule) else []
    app.add_url_rule("/api/docs", "api_docs", hide(api_docs), methods=["GET"])
