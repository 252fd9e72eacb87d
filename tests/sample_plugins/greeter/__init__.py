"""greeter: /greet says hello and counts greetings; a dashboard page shows the count."""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginInfo, hookimpl

from .cog import GreeterCog
from .hooks import GreeterHooks
from .service import GreeterContext, GreeterService
from .settings import GreeterSettings
from .web import make_blueprint


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1.0.0", description="Greets members and counts greetings", settings=GreeterSettings)


@hookimpl
def omo_state(plugin: GreeterContext) -> GreeterService:
    return GreeterService()


@hookimpl
def omo_cogs(plugin: GreeterContext) -> list[Any]:
    return [GreeterCog(plugin)]


@hookimpl
def omo_blueprint(plugin: GreeterContext) -> Any:
    return make_blueprint(plugin)


@hookimpl
def omo_setup(plugin: GreeterContext) -> None:
    plugin.register(GreeterHooks(plugin.state))
    plugin.subscribe("reset", lambda payload: plugin.state.reset(int(payload["guild_id"])))


@hookimpl
def omo_nav_items(plugin: GreeterContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Greeter", "")]


@hookimpl
def omo_guild_status(plugin: GreeterContext, guild_id: int) -> str:
    return f"{plugin.state.total(guild_id)} greetings"
