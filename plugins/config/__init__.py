"""config: per-guild settings of every plugin — ``/config`` commands, settings pages, JSON API.

Wiring only: the service lives in :mod:`.service`, commands in :mod:`.cog`, pages and API in :mod:`.web`.
"""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginContext, PluginInfo, hookimpl

from . import runtime_services
from .cog import ConfigCog
from .runtime_services import service_for
from .web import make_blueprint

VERSION = "1.0.0"


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(
        version=VERSION,
        description="Per-server settings of every plugin: /config commands, settings pages and API, history.",
        models="plugins.config.models",
    )


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    runtime_services.start(plugin.runtime)


@hookimpl
def omo_teardown(plugin: PluginContext) -> None:
    runtime_services.stop(plugin.runtime)


@hookimpl
def omo_cogs(plugin: PluginContext) -> list[Any]:
    runtime = plugin.runtime
    return [ConfigCog(plugin, lambda: service_for(runtime))]


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Any:
    runtime = plugin.runtime
    return make_blueprint(plugin, lambda: service_for(runtime))


@hookimpl
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Settings", "")]


@hookimpl
async def omo_guild_status(plugin: PluginContext, guild_id: int) -> str:
    changed = await service_for(plugin.runtime).changed_count(guild_id)
    return f"{changed} setting{'s' if changed != 1 else ''} changed in this server"
