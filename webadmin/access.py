"""Who may see what: the guard core runs before every plugin route of a guild."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import current_app, g

from webadmin.errors import error_response

if TYPE_CHECKING:
    from webadmin.runtime_api import WebRuntime


async def guild_guard(plugin: str, guild_id: int) -> Any:
    """Refuse the request unless the user administers ``guild_id``, the bot is there and ``plugin`` is on there.

    Returns None to let the request through, or a response (401/403 from the admin check, else 404).
    """
    runtime: WebRuntime = current_app.config["OMO_RUNTIME"]
    denial = await current_app.config["OMO_ADMIN_CHECK"](guild_id)
    if denial is not None:
        return denial
    if runtime.bot is None or runtime.bot.get_guild(guild_id) is None:
        return await error_response(404, "bot not in server", "The bot is not in this server.")
    if not runtime.gate.is_enabled(guild_id, plugin):
        return await error_response(
            404,
            "plugin disabled",
            f"The {plugin} plugin is switched off in this server. Switch it on from the server overview.",
            title="Plugin switched off",
            overview_link=f"/guilds/{guild_id}/#plugin-{plugin}",
        )
    g.omo_guild_ok = guild_id
    return None
