"""A plugin implementing every core hook, recording each call: proves each hookspec is exercised."""

from __future__ import annotations

from typing import Any

from discord.ext import commands
from pydantic import BaseModel
from quart import Blueprint

from core.plugin import NavItem, PluginContext, PluginInfo, hookimpl

CALLS: list[tuple[str, Any]] = []


class AllSettings(BaseModel):
    level: int = 3


class AllCog(commands.Cog, name="allhooks"):
    pass


@hookimpl
def omo_plugin_info() -> PluginInfo:
    CALLS.append(("omo_plugin_info", None))
    return PluginInfo(version="1", settings=AllSettings)


@hookimpl
async def omo_setup(plugin: PluginContext) -> None:
    CALLS.append(("omo_setup", plugin.name))


@hookimpl
def omo_teardown(plugin: PluginContext) -> None:
    CALLS.append(("omo_teardown", plugin.name))


@hookimpl
def omo_cogs(plugin: PluginContext) -> list[commands.Cog]:
    CALLS.append(("omo_cogs", plugin.name))
    return [AllCog()]


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Blueprint:
    CALLS.append(("omo_blueprint", plugin.name))
    return Blueprint("allhooks", __name__)


@hookimpl
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    CALLS.append(("omo_nav_items", guild_id))
    return [NavItem("All", "")]


@hookimpl
async def omo_guild_status(plugin: PluginContext, guild_id: int) -> str:
    CALLS.append(("omo_guild_status", guild_id))
    return "all fine"


@hookimpl
def omo_resolve_settings(guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
    CALLS.append(("omo_resolve_settings", (guild_id, plugin)))
    if plugin == "allhooks" and guild_id == 42:
        return model(level=9)
    return None


@hookimpl
def omo_plugin_toggled(guild_id: int, plugin: str, enabled: bool, actor_id: int | None) -> None:
    CALLS.append(("omo_plugin_toggled", (guild_id, plugin, enabled, actor_id)))


@hookimpl
def omo_runtime_started(runtime: Any) -> None:
    CALLS.append(("omo_runtime_started", runtime))


@hookimpl
def omo_award_points(guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None) -> int:
    CALLS.append(("omo_award_points", (guild_id, user_id, points, key)))
    return points


@hookimpl
async def omo_demo_setup(plugin: PluginContext, demo: Any) -> None:
    CALLS.append(("omo_demo_setup", demo.guild.id))
