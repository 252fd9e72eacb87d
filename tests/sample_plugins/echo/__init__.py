"""A small plugin used by the core tests: one command, one listener, a page, a job."""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginContext, PluginInfo, hookimpl

from .cog import EchoCog
from .settings import EchoSettings
from .web import make_blueprint

VERSION = "1.0"
events: list[Any] = []


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version=VERSION, description="echoes", settings=EchoSettings, intents=("message_content",))


@hookimpl
def omo_cogs(plugin: PluginContext) -> list[Any]:
    return [EchoCog(plugin)]


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Any:
    return make_blueprint(plugin)


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    async def tick() -> None:
        events.append(("tick", VERSION))

    async def per_guild(guild_id: int) -> None:
        events.append(("guild_job", guild_id))

    plugin.every(0.05, tick, name="tick")
    plugin.every(0.05, per_guild, name="per_guild", per_guild=True)


@hookimpl
def omo_teardown(plugin: PluginContext) -> None:
    events.append(("teardown", VERSION))


@hookimpl
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Echo", "")]
