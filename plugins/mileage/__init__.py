"""mileage: points for taking part, levels, tiers that grant roles, rank cards, leaderboards, MEE6 import.

Wiring only: the ledger is :mod:`.service`, the live state (earning, buffer, reconcile) :mod:`.state`,
commands :mod:`.cog`, pages and API :mod:`.web`, the demo set-up :mod:`.demo`.
"""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginInfo, hookimpl

from .cog import MileageCog
from .demo import set_up_demo
from .hooks import MileageHooks
from .settings import MileageSettings
from .state import MileageContext, MileageState
from .web import make_blueprint

VERSION = "1.0.0"


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(
        version=VERSION,
        description="Points for messages and voice, levels, tiers that grant roles, rank cards and leaderboards.",
        intents=("members", "message_content", "voice_states"),
        settings=MileageSettings,
        models="plugins.mileage.models",
    )


@hookimpl
def omo_state(plugin: MileageContext) -> MileageState:
    return MileageState(plugin)


@hookimpl
def omo_setup(plugin: MileageContext) -> None:
    plugin.state.start()
    plugin.register(MileageHooks(plugin.state))


@hookimpl
async def omo_teardown(plugin: MileageContext) -> None:
    await plugin.state.stop()


@hookimpl
def omo_cogs(plugin: MileageContext) -> list[Any]:
    return [MileageCog(plugin, plugin.state)]


@hookimpl
def omo_blueprint(plugin: MileageContext) -> Any:
    return make_blueprint(plugin, lambda: plugin.state)


@hookimpl
def omo_nav_items(plugin: MileageContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Leaderboard", ""), NavItem("Tiers", "tiers"), NavItem("Import / export", "transfer")]


@hookimpl
async def omo_guild_status(plugin: MileageContext, guild_id: int) -> str:
    members = await plugin.state.service.member_count(guild_id)
    return f"{members} member{'s' if members != 1 else ''} with points"


@hookimpl
async def omo_demo_setup(plugin: MileageContext, demo: Any) -> None:
    await set_up_demo(plugin.state, demo)
