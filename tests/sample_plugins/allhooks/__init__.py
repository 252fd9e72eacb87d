"""A plugin implementing every core hook with a plain (synchronous) function, recording each call.

Its twin ``allhooks_async`` implements every hook with ``async def``; together they prove that each
hookspec is exercised, both ways, through a running runtime (tests/core/test_hookspecs.py).
"""

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
    def __init__(self, plugin: PluginContext[AllSettings, dict[str, str]]) -> None:
        self.state = plugin.state


@hookimpl
def omo_plugin_info() -> PluginInfo:
    CALLS.append(("omo_plugin_info", None))
    return PluginInfo(version="1", settings=AllSettings)


@hookimpl
def omo_state(plugin: PluginContext[AllSettings, dict[str, str]]) -> dict[str, str]:
    CALLS.append(("omo_state", plugin.name))
    return {"kind": "sync"}


@hookimpl
def omo_setup(plugin: PluginContext[AllSettings, dict[str, str]]) -> None:
    CALLS.append(("omo_setup", plugin.state["kind"]))


@hookimpl
def omo_teardown(plugin: PluginContext) -> None:
    CALLS.append(("omo_teardown", plugin.name))


@hookimpl
def omo_cogs(plugin: PluginContext[AllSettings, dict[str, str]]) -> list[commands.Cog]:
    CALLS.append(("omo_cogs", plugin.state["kind"]))
    return [AllCog(plugin)]


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Blueprint:
    CALLS.append(("omo_blueprint", plugin.name))
    bp = Blueprint("allhooks", __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        return "allhooks"

    return bp


@hookimpl
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    CALLS.append(("omo_nav_items", guild_id))
    return [NavItem("All", "")]


@hookimpl
def omo_guild_status(plugin: PluginContext, guild_id: int) -> str:
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
def omo_settings_changed(guild_id: int, plugin: str, changes: dict[str, Any], actor_id: int | None) -> None:
    CALLS.append(("omo_settings_changed", (guild_id, plugin, changes, actor_id)))


@hookimpl
def omo_runtime_started(runtime: Any) -> None:
    CALLS.append(("omo_runtime_started", runtime))


@hookimpl
def omo_award_points(guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None) -> Any:
    CALLS.append(("omo_award_points", (guild_id, user_id, points)))
    return points + 2 if guild_id == 43 else None


@hookimpl
def omo_demo_setup(plugin: PluginContext, demo: Any) -> None:
    CALLS.append(("omo_demo_setup", demo.guild.id))


@hookimpl
def omo_settings_url(guild_id: int, plugin: str) -> str | None:
    CALLS.append(("omo_settings_url", (guild_id, plugin)))
    return f"/guilds/{guild_id}/allhooks/" if plugin == "allhooks" else None
