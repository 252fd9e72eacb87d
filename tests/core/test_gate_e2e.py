"""Per-guild gate end to end: app commands, listeners, web routes; through the emulator and real discord.py."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually

ECHO = {"echo": {"module": "tests.sample_plugins.echo"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return ECHO


async def test_command_refused_in_guild_where_plugin_disabled_and_served_in_other(
    emulator: Emulator, runtime: Any, guild: Any
) -> None:
    other = emulator.create_guild("Other")
    await eventually(lambda: runtime.bot.get_guild(other.id) is not None, what="the bot seeing the new guild")
    alice = emulator.create_member(guild, "alice")
    bob = emulator.create_member(other, "bob")
    await runtime.gate.set_enabled(guild.id, "echo", False, actor_id=alice.id)

    refused = await emulator.invoke(alice, emulator.general(guild), "echo", text="hi")
    served = await emulator.invoke(bob, emulator.general(other), "echo", text="hi")

    assert refused.ephemeral and "disabled in this server" in (refused.content or "")
    assert served.content == ">hi"


async def test_listener_runs_only_where_plugin_enabled(emulator: Emulator, runtime: Any, guild: Any) -> None:
    other = emulator.create_guild("Other")
    await eventually(lambda: runtime.bot.get_guild(other.id) is not None, what="the bot seeing the new guild")
    alice = emulator.create_member(guild, "alice")
    bob = emulator.create_member(other, "bob")
    await runtime.gate.set_enabled(guild.id, "echo", False)
    cog = runtime.bot.get_cog("EchoCog")

    await emulator.send_message(alice, emulator.general(guild), "in disabled guild")
    await emulator.send_message(bob, emulator.general(other), "in enabled guild")
    await eventually(lambda: "in enabled guild" in cog.heard, what="the later message heard")  # events come in order

    assert cog.heard == ["in enabled guild"]


async def test_enabling_again_restores_the_command(emulator: Emulator, runtime: Any, guild: Any) -> None:
    alice = emulator.create_member(guild, "alice")
    await runtime.gate.set_enabled(guild.id, "echo", False)
    await runtime.gate.set_enabled(guild.id, "echo", True)

    answer = await emulator.invoke(alice, emulator.general(guild), "echo", text="back")

    assert answer.content == ">back"
