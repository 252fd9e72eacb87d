"""Who may see what: the guard core runs before every plugin route of a guild."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import current_app, render_template

if TYPE_CHECKING:
    from core.runtime import Runtime


async def guild_guard(plugin: str, guild_id: int) -> Any:
    """Refuse the request unless the user administers ``guild_id`` and ``plugin`` is on there.

    Returns None to let the request through, or a response.
    """
    runtime: Runtime = current_app.config["OMO_RUNTIME"]
    denial = await current_app.config["OMO_ADMIN_CHECK"](guild_id)
    if denial is not None:
        return denial
    if not runtime.gate.is_enabled(guild_id, plugin):
        body = await render_template(
            "error.html", title="Plugin disabled",
            message=f"The {plugin} plugin is switched off in this server. Switch it on from the server overview.",
        )
        return body, 404
    return None
