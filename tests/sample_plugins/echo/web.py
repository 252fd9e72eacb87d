from __future__ import annotations

from quart import Blueprint

from core.plugin import PluginContext


def make_blueprint(plugin: PluginContext) -> Blueprint:
    bp = Blueprint("echo", __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        return f"echo page for {guild_id} v1"

    return bp
