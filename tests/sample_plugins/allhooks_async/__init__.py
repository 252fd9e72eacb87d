"""A plugin implementing every core hook with ``async def``, recording each call (twin of ``allhooks``)."""

from __future__ import annotations

from typing import Any

from discord.ext import commands
from pydantic import BaseModel
from quart import Blueprint

from core.plugin import NavItem, PluginContext, PluginInfo, hookimpl

CALLS: list[tuple[str, Any]] = []


class AsyncSettings(BaseModel):
    level: int = 5


class AsyncCog(commands.Cog, name="allhooks_async"):
    def __init__(self, plugin: PluginContext[AsyncSettings, dict[str, str]]) -> None:
        self.state = plugin.state


@hookimpl
def omo_plugin_info() -> PluginInfo:  # read on import, before anything can be awaited: synchronous by design
    CALLS.append(("omo_plugin_info", None))
    return PluginInfo(version="1", settings=AsyncSettings)


@hookimpl
async def omo_state(plugin: PluginContext[AsyncSettings, dict[str, str]]) -> dict[str, str]:
    CALLS.append(("omo_state", plugin.name))
    return {"kind": "async"}


@hookimpl
async def omo_setup(plugin: PluginContext[AsyncSettings, dict[str, str]]) -> None:
    CALLS.append(("omo_setup", plugin.state["kind"]))


@hookimpl
async def omo_teardown(plugin: PluginContext) -> None:
    CALLS.append(("omo_teardown", plugin.name))


@hookimpl
async def omo_cogs(plugin: PluginContext[AsyncSettings, dict[str, str]]) -> list[commands.Cog]:
    CALLS.append(("omo_cogs", plugin.state["kind"]))
    return [AsyncCog(plugin)]


@hookimpl
async def omo_blueprint(plugin: PluginContext) -> Blueprint:
    CALLS.append(("omo_blueprint", plugin.name))
    bp = Blueprint("allhooks_async", __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        return "allhooks_async"

    return bp


@hookimpl
async def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    CALLS.append(("omo_nav_items", guild_id))
    return [NavItem("Async", "")]


@hookimpl
async def omo_guild_status(plugin: PluginContext, guild_id: int) -> str:
    CALLS.append(("omo_guild_status", guild_id))
    return "async fine"


@hookimpl
async def omo_resolve_settings(guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
    CALLS.append(("omo_resolve_settings", (guild_id, plugin)))
    if plugin == "allhooks" and guild_id == 43:
        return model(level=8)
    return None  # awaited to None: the next implementation answers


@hookimpl
async def omo_plugin_toggled(guild_id: int, plugin: str, enabled: bool, actor_id: int | None) -> None:
    CALLS.append(("omo_plugin_toggled", (guild_id, plugin, enabled, actor_id)))


@hookimpl
async def omo_settings_changed(guild_id: int, plugin: str, changes: dict[str, Any], actor_id: int | None) -> None:
    CALLS.append(("omo_settings_changed", (guild_id, plugin, changes, actor_id)))


@hookimpl
async def omo_runtime_started(runtime: Any) -> None:
    CALLS.append(("omo_runtime_started", runtime))


@hookimpl
async def omo_award_points(
    guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None
) -> int | None:
    CALLS.append(("omo_award_points", (guild_id, user_id, points)))
    return points + 1 if guild_id == 42 else None


@hookimpl
async def omo_demo_setup(plugin: PluginContext, demo: Any) -> None:
    CALLS.append(("omo_demo_setup", demo.guild.id))


@hookimpl
async def omo_settings_url(guild_id: int, plugin: str) -> str | None:
    CALLS.append(("omo_settings_url", (guild_id, plugin)))
    return f"/guilds/{guild_id}/allhooks_async/settings" if plugin == "allhooks_async" else None
