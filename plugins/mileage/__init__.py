"""mileage: points for taking part, levels, tiers that grant roles, rank cards, leaderboards, MEE6 import.

Wiring only: the ledger is :mod:`.service`, the live state (earning, buffer, reconcile) :mod:`.state`,
commands :mod:`.cog`, pages and API :mod:`.web`, the demo set-up :mod:`.demo`.
"""

from __future__ import annotations

from typing import Any

from core.plugin import NavItem, PluginContext, PluginInfo, hookimpl

from .cog import MileageCog
from .demo import set_up_demo
from .settings import MileageSettings
from .state import award_points, state_for
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
def omo_setup(plugin: PluginContext) -> None:
    state_for(plugin).start()


@hookimpl
async def omo_teardown(plugin: PluginContext) -> None:
    await state_for(plugin).stop()


@hookimpl
def omo_cogs(plugin: PluginContext) -> list[Any]:
    return [MileageCog(plugin, state_for(plugin))]


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Any:
    return make_blueprint(plugin, lambda: state_for(plugin))


@hookimpl
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Leaderboard", ""), NavItem("Tiers", "tiers"), NavItem("Import / export", "transfer")]


@hookimpl
async def omo_guild_status(plugin: PluginContext, guild_id: int) -> str:
    members = await state_for(plugin).service.member_count(guild_id)
    return f"{members} member{'s' if members != 1 else ''} with points"


@hookimpl
async def omo_award_points(
    guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None
) -> int | None:
    return await award_points(guild_id, user_id, points, reason, source, key)


@hookimpl
async def omo_demo_setup(plugin: PluginContext, demo: Any) -> None:
    await set_up_demo(state_for(plugin), demo)
