"""The dashboard pages: start page, guild picker, guild overview with plugin switches, operator page."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog
from quart import Blueprint, current_app, g, redirect, render_template, request

from webadmin import dashboard, tokens
from webadmin.auth import (
    admin_guilds,
    current_user,
    forget_cached,
    require_guild_admin,
    require_login,
    require_operator,
)
from webadmin.errors import error_response

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime

log = structlog.get_logger("omo.web.pages")

bp = Blueprint("pages", __name__)


def _runtime() -> WebRuntime:
    return current_app.config["OMO_RUNTIME"]  # type: ignore[no-any-return]


@bp.get("/")
async def index() -> Any:
    """Start page: log in, or go to your servers."""
    return await render_template("index.html", viewer=await current_user(), runtime=_runtime())


@bp.get("/guilds")
@require_login
async def guilds() -> Any:
    """Servers the user can manage (bot present), those to invite it to, and for operators all the others."""
    viewer = await current_user()
    assert viewer is not None
    picker = dashboard.guild_picker(
        _runtime(), await admin_guilds(viewer, force=bool(request.args.get("refresh"))), viewer.operator
    )
    return await render_template("guilds.html", picker=picker, viewer=viewer)


@bp.get("/guilds/<int:guild_id>/")
@require_guild_admin
async def overview(guild_id: int) -> Any:
    """A guild's plugins as cards, each with its switch, status and links."""
    runtime = _runtime()
    guild = dashboard.guild_card(runtime, guild_id)
    if guild is None:
        return await error_response(
            404, "bot not in server", "The bot is not in this server. Invite it from the server list first."
        )
    cards = await dashboard.plugin_cards(runtime, guild_id)
    g.omo_guild_nav = [link for card in cards for link in card.links]  # the sidebar reuses the cards' links
    switched = request.args.get("switched")
    return await render_template(
        "overview.html", guild=guild, cards=cards, switched=switched, switched_on=request.args.get("on") == "1"
    )


@bp.post("/guilds/<int:guild_id>/_plugins/<plugin>")
@require_guild_admin
async def switch(guild_id: int, plugin: str) -> Any:
    """The per-guild switch of a plugin (form field ``enabled`` = ``1`` or ``0``)."""
    runtime = _runtime()
    if dashboard.guild_card(runtime, guild_id) is None:
        return await error_response(404, "bot not in server", "The bot is not in this server.")
    form = await request.form
    value = form.get("enabled")
    if value not in ("0", "1"):
        return await error_response(400, "invalid switch", "The switch must be sent as enabled=1 or enabled=0.")
    viewer = await current_user()
    assert viewer is not None
    try:
        await dashboard.switch_plugin(runtime, guild_id, plugin, value == "1", viewer.user_id)
    except dashboard.UnknownPlugin as exc:
        return await error_response(404, "unknown plugin", str(exc))
    return redirect(f"/guilds/{guild_id}/?switched={plugin}&on={value}#plugin-{plugin}", 303)


# ------------------------------------------------------------------------------------------------ operator


def _last_reloads() -> dict[str, tuple[float, dashboard.ReloadOutcome]]:
    return current_app.extensions.setdefault("omo_last_reload", {})  # type: ignore[no-any-return]


async def render_operator(status: int = 200, **extra: Any) -> Any:
    """The operator page (with ``new_token`` / ``token_error`` after a token form)."""
    runtime = _runtime()
    body = await render_template(
        "operator.html",
        rows=dashboard.operator_rows(runtime),
        readiness=await runtime.readiness(),
        plugins_file_error=runtime.plugins_file_error,
        plugins_file=str(runtime.plugins_file_path),
        plugins_file_warning=runtime.plugins_file.nothing_enabled(),
        tokens=await tokens.list_tokens(),
        last_reloads=_last_reloads(),
        now=time.time(),
        **extra,
    )
    return body, status


@bp.get("/operator")
@require_operator
async def operator() -> Any:
    """Every plugin, the gateway and database health, and API tokens."""
    return await render_operator()


@bp.post("/operator/plugins/<name>/reload")
@require_operator
async def reload(name: str) -> Any:
    """Reload a plugin; the outcome is shown on the operator page (the old version stays live on failure)."""
    runtime = _runtime()
    if name not in runtime.host.records:
        return await error_response(404, "unknown plugin", f"There is no plugin called {name!r}.")
    viewer = await current_user()
    outcome = await dashboard.reload_plugin(runtime, name)
    log.info(
        "reload from the dashboard",
        plugin=name,
        ok=outcome.ok,
        error=outcome.error,
        user_id=viewer.user_id if viewer else None,
    )
    _last_reloads()[name] = (time.time(), outcome)
    return redirect(f"/operator#plugin-{name}", 303)


@bp.post("/operator/tokens")
@require_operator
async def create_token() -> Any:
    """Create an API token and show it once."""
    viewer = await current_user()
    assert viewer is not None
    name = str((await request.form).get("name", ""))
    try:
        issued = await tokens.create_token(name, viewer.user_id)
    except tokens.TokenError as exc:
        return await render_operator(400, token_error=str(exc))
    log.info("api token created", token_id=issued.id, user_id=viewer.user_id)
    return await render_operator(201, new_token=issued)


@bp.post("/operator/tokens/<int:token_id>/revoke")
@require_operator
async def revoke_token(token_id: int) -> Any:
    """Revoke an API token."""
    try:
        row = await tokens.revoke_token(token_id)
    except tokens.TokenError as exc:
        return await error_response(404, "unknown token", str(exc))
    await forget_cached(f"t:{row.token_hash}")
    log.info("api token revoked", token_id=token_id)
    return redirect("/operator#tokens", 303)
