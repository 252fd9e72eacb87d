from __future__ import annotations

from quart import Blueprint

from webadmin.public import current_user

from .service import GreeterContext


def make_blueprint(plugin: GreeterContext) -> Blueprint:
    bp = Blueprint("greeter", __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        user = await current_user()
        settings = await plugin.settings(guild_id)
        total = plugin.state.total(guild_id)
        return f"Hi {user.name if user else '?'}: {total} greetings with “{settings.greeting}” here."

    @bp.post("/reset")  # the web admin checks the CSRF token of every form
    async def reset(guild_id: int) -> tuple[str, int]:
        plugin.state.reset(guild_id)
        await plugin.publish("reset", {"guild_id": guild_id})  # the other processes forget their counts too
        return "reset", 200

    return bp
