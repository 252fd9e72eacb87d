"""Run the emulator on its own with a demo guild (what ``omo emulator`` starts)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable

import structlog

from . import permissions as perms
from .server import Emulator

log = structlog.get_logger(__name__)


def build_demo(emu: Emulator) -> Emulator:
    """Fill ``emu`` with a demo guild: channels, a category, voice, roles and a few members."""
    owner = emu.create_user("demo-owner", global_name="Demo Owner")
    guild = emu.create_guild("omo demo", owner)
    info = emu.create_channel(guild, "Info", "category")
    emu.create_channel(guild, "announcements", "text", parent=info, topic="News from the team")
    emu.create_channel(guild, "feeds", "text", parent=info, topic="Daily digests")
    emu.create_channel(guild, "Voice", "voice")
    moderator = emu.create_role(guild, "Moderator", perms.MANAGE_MESSAGES | perms.KICK_MEMBERS, hoist=True)
    gold = emu.create_role(guild, "Gold", color=0xF1C40F)
    silver = emu.create_role(guild, "Silver", color=0xBDC3C7)
    emu.create_member(guild, "alice", roles=[moderator], global_name="Alice")
    emu.create_member(guild, "bob", roles=[gold], global_name="Bob")
    emu.create_member(guild, "carol", roles=[silver], global_name="Carol")
    emu.create_member(guild, "dave", global_name="Dave")
    return emu


async def serve_standalone(
    host: str = "127.0.0.1", port: int = 0, *, started: Callable[[Emulator], None] | None = None
) -> None:
    """Serve an emulator with the demo guild on ``host:port`` (0 picks a free port) until cancelled.

    Writes one line with the base URL and the bot token to stdout; ``started`` is called with
    the running emulator (for embedding and tests).
    """
    emu = build_demo(Emulator())
    await emu.start(host, port)
    sys.stdout.write(
        f"Discord emulator at {emu.base_url} (API {emu.api_url}, gateway {emu.gateway_url}); "
        f"bot token: {emu.bot_token}; OAuth2 client id {emu.application_id}, secret {emu.client_secret}\n"
    )
    sys.stdout.flush()
    log.info("standalone emulator ready", base_url=emu.base_url, application_id=emu.application_id)
    if started is not None:
        started(emu)
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main() -> None:  # pragma: no cover - manual entry point
    """``python -m core.testing.emulator.standalone [PORT]``."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_standalone("127.0.0.1", port))


if __name__ == "__main__":  # pragma: no cover
    main()
