"""config: per-guild settings of every plugin — ``/config`` commands, settings pages, JSON API.

Wiring only: the service lives in :mod:`.service`, commands in :mod:`.cog`, pages and API in :mod:`.web`,
the hooks that answer settings lookups in :mod:`.hooks`.
"""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginInfo, hookimpl

from .cog import ConfigCog
from .hooks import ConfigHooks
from .service import ConfigContext, ConfigService
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
def omo_state(plugin: ConfigContext) -> ConfigService:
    return ConfigService(plugin)


@hookimpl
def omo_setup(plugin: ConfigContext) -> None:
    plugin.state.closed = False
    plugin.register(ConfigHooks(plugin.state, plugin.is_enabled))


@hookimpl
def omo_teardown(plugin: ConfigContext) -> None:
    plugin.state.closed = True


@hookimpl
def omo_cogs(plugin: ConfigContext) -> list[Any]:
    return [ConfigCog(plugin)]


@hookimpl
def omo_blueprint(plugin: ConfigContext) -> Any:
    return make_blueprint(plugin)


@hookimpl
def omo_nav_items(plugin: ConfigContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Settings", "")]


@hookimpl
async def omo_guild_status(plugin: ConfigContext, guild_id: int) -> str:
    changed = await plugin.state.changed_count(guild_id)
    return f"{changed} setting{'s' if changed != 1 else ''} changed in this server"
