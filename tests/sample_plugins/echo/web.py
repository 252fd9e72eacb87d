from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from core.plugin import PluginContext
from webadmin.public import current_user, is_guild_admin


def make_blueprint(plugin: PluginContext) -> Blueprint:
    bp = Blueprint("echo", __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        return f"echo page for {guild_id} v1"

    @bp.get("/whoami")
    async def whoami(guild_id: int) -> dict[str, Any]:
        """The dashboard's current user, and whether they administer the guild named in ``?other=``."""
        user = await current_user()
        assert user is not None  # core let the request through: someone is logged in
        other = request.args.get("other", type=int)
        return {
            "id": str(user.id),
            "name": user.name,
            "operator": user.operator,
            "admin_here": await is_guild_admin(guild_id),
            "admin_of_other": await is_guild_admin(other) if other is not None else None,
        }

    return bp
