"""dailies: feed subscriptions (RSS, Atom, JSON Feed, YouTube), daily digests, scheduled daily posts and the
``/daily`` check-in.

Wiring only: fetching in :mod:`.fetch` (guarded by :mod:`.netguard`), parsing in :mod:`.parse`, the domain in
:mod:`.service`, the poll cycle in :mod:`.poller`, Discord posting in :mod:`.poster`, commands in :mod:`.cog`,
pages and API in :mod:`.web`, the demo's feeds in :mod:`.demo`.
"""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginInfo, hookimpl

from .cog import DailiesCog
from .demo import setup_demo
from .settings import DailiesSettings
from .state import DailiesContext, DailiesState
from .web import make_blueprint

VERSION = "1.0.0"


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(
        version=VERSION,
        description="Feeds and YouTube channels posted to channels, daily digests, scheduled posts, /daily check-in",
        settings=DailiesSettings,
        models="plugins.dailies.models",
    )


@hookimpl
def omo_state(plugin: DailiesContext) -> DailiesState:
    return DailiesState(plugin)


@hookimpl
def omo_setup(plugin: DailiesContext) -> None:
    plugin.every(plugin.state.operator.tick, plugin.state.poller.run, name="poll")


@hookimpl
async def omo_teardown(plugin: DailiesContext) -> None:
    await plugin.state.close()


@hookimpl
def omo_cogs(plugin: DailiesContext) -> list[Any]:
    return [DailiesCog(plugin)]


@hookimpl
def omo_blueprint(plugin: DailiesContext) -> Any:
    return make_blueprint(plugin)


@hookimpl
def omo_nav_items(plugin: DailiesContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Feeds", ""), NavItem("Scheduled posts", "schedules"), NavItem("Check-in", "checkin")]


@hookimpl
async def omo_guild_status(plugin: DailiesContext, guild_id: int) -> str:
    return await plugin.state.service.status_line(guild_id)


@hookimpl
async def omo_demo_setup(plugin: DailiesContext, demo: Any) -> None:
    await setup_demo(plugin.state, demo)
