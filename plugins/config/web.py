"""Settings pages and JSON API of the config plugin (blueprint ``config``).

Pages, mounted by core at ``/guilds/<guild_id>/config/``: the list of plugins with settings, one form
per plugin generated from its settings model, the history with revert buttons. JSON API under
``/guilds/<guild_id>/config/api/...``, also served by the web admin at ``/api/v1/guilds/<guild_id>/config/...``.
Core's guard runs before every request (guild admin, plugin on in the guild); CSRF is enforced app-wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, Field
from quart import Blueprint, redirect, render_template, request, send_from_directory
from quart_schema import validate_querystring, validate_request, validate_response

from core.plugin import PLUGIN_NAME
from webadmin.public import current_user

from .cog import directory_of
from .messages import plain
from .service import (
    MAX_ENTRY_ID,
    Actor,
    Change,
    ConfigContext,
    ConfigService,
    ConfigServiceError,
    HistoryEntryNotFound,
    PluginView,
    SettingsInvalid,
    UnknownPlugin,
    UnsupportedSettings,
)
from .settings_types import Directory, FieldSpec, format_value, input_text, timezone_names

log = structlog.get_logger("omo.plugins.config")
ASSETS = Path(__file__).parent / "static"


# ------------------------------------------------------------------------------------------ API models
class FieldOut(BaseModel):
    """One setting: its value, default, whether this server changed it, and what it accepts."""

    key: str
    value: Any = None
    default: Any = None
    overridden: bool
    spec: dict[str, Any] = Field(description="kind, label, expected text, limits (ge/le/min_length/...), choices")


class PluginSettingsOut(BaseModel):
    """A plugin's settings in a server."""

    plugin: str
    values: dict[str, Any]
    overridden: list[str]
    fields: list[FieldOut]
    json_schema: dict[str, Any] = Field(description="JSON Schema of the plugin's settings model")


class AllSettingsOut(BaseModel):
    """The settings of every running plugin that has settings."""

    plugins: list[PluginSettingsOut]


class SettingsPatch(BaseModel):
    """Keys to change, validated together with the current values: all are saved or none.

    Values are JSON values of the setting's type; durations, times, channels (``#name``, ``<#id>``) and
    roles may also be given as text, as in ``/config set``."""

    values: dict[str, Any]


class ChangeOut(BaseModel):
    """One key that changed."""

    plugin: str
    key: str
    old_value: Any = None
    new_value: Any = None
    old_overridden: bool
    new_overridden: bool
    entry_id: int | None = None


class PatchOut(BaseModel):
    """What changed, and the plugin's settings afterwards."""

    changes: list[ChangeOut]
    settings: PluginSettingsOut


class HistoryEntryOut(BaseModel):
    """One recorded change."""

    id: int
    plugin: str
    key: str
    old_value: Any = None
    new_value: Any = None
    old_overridden: bool
    new_overridden: bool
    actor_id: str | None = None
    actor_name: str | None = None
    source: str
    reverts_id: int | None = None
    reverted_by: int | None = None
    created_at: str


class HistoryOut(BaseModel):
    """Changes, newest first; pass ``before`` = the last id to get the next page."""

    entries: list[HistoryEntryOut]


class HistoryQuery(BaseModel):
    """Filter and page the history."""

    plugin: str | None = Field(default=None, pattern=PLUGIN_NAME.pattern)
    limit: int = Field(default=50, ge=1, le=200)
    before: int | None = Field(default=None, ge=1, le=MAX_ENTRY_ID + 1)


class RevertOut(BaseModel):
    """What the revert changed (empty when the entry was already undone)."""

    changes: list[ChangeOut]


class ErrorOut(BaseModel):
    """An error: a short reason and details."""

    error: str
    detail: Any = None


# ------------------------------------------------------------------------------------------ form model
@dataclass
class Widget:
    """One form control, built from a field spec."""

    spec: FieldSpec
    id: str
    control: str
    value: str
    selected: list[str]
    options: list[tuple[str, str]]
    default: str
    overridden: bool
    error: str | None
    input_type: str = "text"
    step: str | None = None
    min: str | None = None
    max: str | None = None
    checked: bool = False
    pattern: str | None = None
    hint: str = ""


DURATION_PATTERN = r"\s*(\d+(\.\d+)?\s*[wdhmsWDHMS]?\s*)+"


def _number(value: Any) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def build_widgets(
    view: PluginView, directory: Directory | None, entered: dict[str, str] | None, errors: dict[str, str]
) -> list[Widget]:
    """Form controls for every field; ``entered`` redisplays what the user typed after an error."""
    widgets = []
    for key, spec in view.specs.items():
        stored = view.values.get(key)
        text = entered[key] if entered is not None and key in entered else input_text(spec, stored)
        target = spec.item if spec.kind == "list" and spec.item is not None else spec
        w = Widget(
            spec=spec,
            id=f"f-{key}",
            control="input",
            value=text,
            selected=[],
            options=[],
            default=format_value(spec, view.defaults.get(key), directory),
            overridden=key in view.overridden,
            error=errors.get(key),
            hint=spec.expected(),
        )
        if spec.kind == "bool":
            w.control, w.input_type = "checkbox", "checkbox"
            w.checked = text.lower() in ("yes", "true", "on", "1")
        elif spec.kind in ("int", "float"):
            w.input_type = "number"
            w.step = "1" if spec.kind == "int" else "any"
            w.min = _number(spec.ge)
            w.max = _number(spec.le)
        elif spec.kind == "time":
            w.input_type = "time"
        elif spec.kind == "duration":
            w.pattern = DURATION_PATTERN
        elif spec.kind == "timezone":
            w.control = "timezone"
        elif target.kind == "choice":
            w.control = "select"
            w.options = [(str(c), str(c)) for c in target.choices]
            w.selected = [p.strip() for p in text.split(",")] if spec.kind == "list" else [text]
        elif target.kind in ("channel", "role") and directory is not None:
            w.control = "select"
            w.options = [
                (str(i), ("#" if target.kind == "channel" else "@") + n) for i, n in directory.entries(target.kind)
            ]
            w.selected = [p.strip() for p in text.split(",") if p.strip()]
        if spec.kind == "list" and w.control == "select":
            w.control = "multiselect"
        widgets.append(w)
    return widgets


# ------------------------------------------------------------------------------------------ helpers
async def _viewer_actor() -> Actor:
    """The dashboard's current user, as the author of a change."""
    user = await current_user()
    return Actor(user.id, user.name) if user is not None else Actor()


def _change_out(change: Change) -> ChangeOut:
    return ChangeOut(**change.__dict__)


def _settings_out(view: PluginView) -> PluginSettingsOut:
    return PluginSettingsOut(
        plugin=view.plugin,
        values=view.values,
        overridden=sorted(view.overridden),
        fields=[
            FieldOut(
                key=k,
                value=view.values.get(k),
                default=view.defaults.get(k),
                overridden=k in view.overridden,
                spec=s.to_schema(),
            )
            for k, s in view.specs.items()
        ],
        json_schema=view.json_schema,
    )


def _invalid(exc: SettingsInvalid) -> tuple[dict[str, Any], int]:
    detail = [{"field": e.key, "message": e.message} for e in exc.errors]
    return {"error": "invalid settings", "detail": detail}, 400


def _plain(exc: Exception) -> str:
    """The error's message without Discord's backticks (for pages and the API)."""
    return str(exc).replace("`", "")


def _not_found(exc: ConfigServiceError) -> tuple[dict[str, Any], int]:
    return {"error": "not found", "detail": _plain(exc)}, 404


def _missing(exc: UnknownPlugin | UnsupportedSettings) -> tuple[dict[str, Any], int]:
    """404 for a plugin that is not running, 409 for settings the config plugin cannot edit."""
    if isinstance(exc, UnknownPlugin):
        return _not_found(exc)
    return {"error": "settings not editable", "detail": _plain(exc)}, 409


def make_blueprint(plugin: ConfigContext) -> Blueprint:
    """The ``config`` blueprint: pages and API."""
    bp = Blueprint("config", __name__, template_folder="templates")
    svc: ConfigService = plugin.state

    def directory(guild_id: int) -> Directory | None:
        return directory_of(plugin.bot.get_guild(guild_id)) if plugin.bot is not None else None

    # ----------------------------------------------------------------------------------- pages
    @bp.get("/assets/<path:filename>")
    async def asset(guild_id: int, filename: str) -> Any:
        """The plugin's stylesheet (CSP allows only same-origin styles, no inline ones)."""
        return await send_from_directory(ASSETS, filename)

    @bp.get("/")
    async def index(guild_id: int) -> Any:
        cards = []
        for name in svc.plugins_with_settings():
            try:
                view = await svc.view(guild_id, name)
            except UnsupportedSettings as exc:
                cards.append(
                    {
                        "name": name,
                        "error": _plain(exc),
                        "enabled": True,
                        "fields": 0,
                        "changed": 0,
                        "description": "",
                    }
                )
                continue
            cards.append(
                {
                    "name": name,
                    "fields": len(view.specs),
                    "changed": len(view.overridden),
                    "enabled": plugin.is_enabled(guild_id, name),
                    "description": svc.description(name),
                }
            )
        history = await svc.history(guild_id, limit=10)
        return await render_template(
            "config/index.html",
            guild_id=guild_id,
            cards=cards,
            history=_history_rows(svc, history, directory(guild_id)),
        )

    async def render_plugin(
        guild_id: int,
        name: str,
        *,
        entered: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Any:
        try:
            view = await svc.view(guild_id, name)
        except (UnknownPlugin, UnsupportedSettings) as exc:
            body = await render_template("config/missing.html", guild_id=guild_id, message=_plain(exc))
            return body, 404 if isinstance(exc, UnknownPlugin) else 409
        d = directory(guild_id)
        history = await svc.history(guild_id, name, limit=20)
        body = await render_template(
            "config/plugin.html",
            guild_id=guild_id,
            plugin=name,
            widgets=build_widgets(view, d, entered, errors or {}),
            errors=errors or {},
            notice=notice,
            history=_history_rows(svc, history, d),
            timezones=timezone_names()
            if any(s.kind == "timezone" or (s.item and s.item.kind == "timezone") for s in view.specs.values())
            else [],
            enabled=plugin.is_enabled(guild_id, name),
        )
        return body, status

    @bp.get("/history")
    async def history_page(guild_id: int) -> Any:
        """Every change in this server, newest first, 50 a page (``?before=ENTRY_ID`` pages back)."""
        before = request.args.get("before", "")
        start = int(before) if before.isdigit() and len(before) < 20 else None
        entries = await svc.history(guild_id, limit=HISTORY_PAGE + 1, before=start)
        more = len(entries) > HISTORY_PAGE
        entries = entries[:HISTORY_PAGE]
        return await render_template(
            "config/history.html",
            guild_id=guild_id,
            history=_history_rows(svc, entries, directory(guild_id)),
            back="history",
            older=entries[-1].id if more and entries else None,
            notice="Reverted." if request.args.get("saved") == "reverted" else None,
        )

    @bp.get("/<name>")
    async def plugin_page(guild_id: int, name: str) -> Any:
        saved = request.args.get("saved")
        notice = {
            "1": "Saved.",
            "0": "Nothing changed.",
            "reset": "Reset to the default.",
            "reverted": "Reverted.",
        }.get(saved or "")
        return await render_plugin(guild_id, name, notice=notice)

    @bp.post("/<name>")
    async def save(guild_id: int, name: str) -> Any:
        form = await request.form
        try:
            specs = svc.specs(name)
        except (UnknownPlugin, UnsupportedSettings):
            return await render_plugin(guild_id, name)
        reset_key = form.get("reset")
        if reset_key:
            try:
                changes = await svc.reset(guild_id, name, [reset_key], await _viewer_actor(), source="web")
            except ConfigServiceError as exc:
                return await render_plugin(guild_id, name, errors={reset_key: str(exc)}, status=400)
            return redirect(f"/guilds/{guild_id}/config/{name}?saved={'reset' if changes else '0'}", 303)
        entered: dict[str, str] = {}
        for key, spec in specs.items():
            target = spec.item if spec.kind == "list" and spec.item is not None else spec
            if spec.kind == "bool":
                entered[key] = "yes" if form.get(key) in ("on", "yes", "true", "1") else "no"
            elif (
                spec.kind == "list"
                and target.kind in ("channel", "role", "choice")
                and key in form
                and len(form.getlist(key)) != 1
            ):
                entered[key] = ", ".join(form.getlist(key))
            elif key in form:
                entered[key] = str(form.get(key, ""))
            elif spec.kind == "list" and form.get(f"{key}__present"):
                entered[key] = ""
        try:
            changes = await svc.set_values(
                guild_id,
                name,
                entered,
                await _viewer_actor(),
                source="web",
                text=True,
                directory=directory(guild_id),
                only_changed=True,
            )
        except SettingsInvalid as exc:
            errors: dict[str, str] = {}
            for err in exc.errors:
                errors.setdefault(err.key, plain(err))
            return await render_plugin(guild_id, name, entered=entered, errors=errors, status=400)
        return redirect(f"/guilds/{guild_id}/config/{name}?saved={'1' if changes else '0'}", 303)

    @bp.post("/history/<int:entry_id>/revert")
    async def revert_page(guild_id: int, entry_id: int) -> Any:
        form = await request.form
        back = str(form.get("back") or "")
        target = f"/guilds/{guild_id}/config/{back}" if back and back.isidentifier() else f"/guilds/{guild_id}/config/"
        try:
            await svc.revert(guild_id, entry_id, await _viewer_actor(), source="web")
        except HistoryEntryNotFound as exc:
            body = await render_template("config/missing.html", guild_id=guild_id, message=str(exc))
            return body, 404
        except ConfigServiceError as exc:
            body = await render_template("config/missing.html", guild_id=guild_id, message=_plain(exc))
            return body, 400
        return redirect(target + ("?saved=reverted" if back else ""), 303)

    # ----------------------------------------------------------------------------------- API
    @bp.get("/api/settings")
    @validate_response(AllSettingsOut, 200)
    async def api_all(guild_id: int) -> AllSettingsOut:
        """Settings of every running plugin that has settings."""
        out = []
        for name in svc.plugins_with_settings():
            try:
                out.append(_settings_out(await svc.view(guild_id, name)))
            except UnsupportedSettings:
                log.warning("settings not editable, left out of the API answer", plugin=name)
        return AllSettingsOut(plugins=out)

    @bp.get("/api/settings/<name>")
    @validate_response(PluginSettingsOut, 200)
    @validate_response(ErrorOut, 404)
    async def api_one(guild_id: int, name: str) -> Any:
        """One plugin's settings: values, which are overridden here, defaults and the schema of each field."""
        try:
            return _settings_out(await svc.view(guild_id, name))
        except (UnknownPlugin, UnsupportedSettings) as exc:
            return _missing(exc)

    @bp.patch("/api/settings/<name>")
    @validate_request(SettingsPatch)
    @validate_response(PatchOut, 200)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 404)
    async def api_patch(guild_id: int, name: str, data: SettingsPatch) -> Any:
        """Change some keys, validated as a whole; 400 lists every refused field and nothing is saved."""
        try:
            changes = await svc.set_values(
                guild_id, name, data.values, await _viewer_actor(), source="api", directory=directory(guild_id)
            )
            view = await svc.view(guild_id, name)
        except SettingsInvalid as exc:
            return _invalid(exc)
        except (UnknownPlugin, UnsupportedSettings) as exc:
            return _missing(exc)
        return PatchOut(changes=[_change_out(c) for c in changes], settings=_settings_out(view))

    @bp.delete("/api/settings/<name>/<key>")
    @validate_response(PatchOut, 200)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 404)
    async def api_reset(guild_id: int, name: str, key: str) -> Any:
        """Put one key back to its default."""
        try:
            changes = await svc.reset(guild_id, name, [key], await _viewer_actor(), source="api")
            view = await svc.view(guild_id, name)
        except SettingsInvalid as exc:
            return {"error": "unknown setting", "detail": [{"field": key, "message": str(exc.errors[0])}]}, 404
        except (UnknownPlugin, UnsupportedSettings) as exc:
            return _missing(exc)
        return PatchOut(changes=[_change_out(c) for c in changes], settings=_settings_out(view))

    @bp.get("/api/history")
    @validate_querystring(HistoryQuery)
    @validate_response(HistoryOut, 200)
    async def api_history(guild_id: int, query_args: HistoryQuery) -> HistoryOut:
        """Recorded changes, newest first: who, when, plugin, key, old and new value, reverts."""
        entries = await svc.history(guild_id, query_args.plugin, limit=query_args.limit, before=query_args.before)
        return HistoryOut(entries=[HistoryEntryOut(**e.to_dict()) for e in entries])

    @bp.post("/api/history/<int:entry_id>/revert")
    @validate_response(RevertOut, 200)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 404)
    async def api_revert(guild_id: int, entry_id: int) -> Any:
        """Undo one history entry (its key goes back to the old value); recorded as a new entry."""
        try:
            changes = await svc.revert(guild_id, entry_id, await _viewer_actor(), source="api")
        except HistoryEntryNotFound as exc:
            return _not_found(exc)
        except SettingsInvalid as exc:
            return _invalid(exc)
        except UnknownPlugin as exc:
            return {"error": "plugin not running", "detail": _plain(exc)}, 400
        return RevertOut(changes=[_change_out(c) for c in changes])

    return bp


#: History rows on the server-wide history page.
HISTORY_PAGE = 50
#: Longer old/new values are cut in the history tables.
HISTORY_VALUE_CHARS = 60


def _history_rows(svc: ConfigService, entries: list[Any], directory: Directory | None) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        try:
            spec = svc.specs(e.plugin).get(e.key)
        except ConfigServiceError:
            spec = None

        def show(value: Any, overridden: bool, spec: FieldSpec | None = spec) -> str:
            text = format_value(spec, value, directory) if spec is not None else str(value)
            if len(text) > HISTORY_VALUE_CHARS:  # the page shows the gist; /config show has the whole value
                text = text[: HISTORY_VALUE_CHARS - 1].rstrip() + "…"
            return text if overridden else f"{text} (default)"

        rows.append(
            {
                "entry": e,
                "old": show(e.old_value, e.old_overridden),
                "new": show(e.new_value, e.new_overridden),
                "who": e.actor_name or (str(e.actor_id) if e.actor_id else "system"),
                "when": e.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                "iso": e.created_at.isoformat(),
            }
        )
    return rows
