"""A local Discord API v10 emulator (REST, gateway, OAuth2) for tests and the demo.

Public API::

    from core.testing.emulator import Emulator, point_discord_py_at

    async with Emulator() as emu:
        guild = emu.create_guild("Test")
        point_discord_py_at(emu.base_url)
        client = discord.Client(intents=discord.Intents.default())
        await client.login(emu.bot_token)
        ...
"""

from __future__ import annotations

from core.discord_target import point_discord_py_at, restore_discord_py

from .cdn import ATTACHMENT_SIZE_LIMIT, Attachment
from .control import InteractionResult
from .errors import DiscordAPIError, EmulatorError, EmulatorTimeout
from .server import BotAction, Emulator, Fault
from .state import AppCommand, Channel, ChannelType, Guild, Member, Message, Role, User

__all__ = [
    "ATTACHMENT_SIZE_LIMIT",
    "AppCommand",
    "Attachment",
    "BotAction",
    "Channel",
    "ChannelType",
    "DiscordAPIError",
    "Emulator",
    "EmulatorError",
    "EmulatorTimeout",
    "Fault",
    "Guild",
    "InteractionResult",
    "Member",
    "Message",
    "Role",
    "User",
    "point_discord_py_at",
    "restore_discord_py",
]
