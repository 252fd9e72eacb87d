"""The demo set-up: tier roles in the demo guild and low thresholds, so a chatting member crosses a tier at once."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import eventually
from tests.mileage.conftest import state


async def test_demo_setup_makes_tiers_that_a_chatting_member_reaches(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any
) -> None:
    plugin = importlib.import_module("plugins.mileage")
    demo = SimpleNamespace(emulator=emulator, guild=guild, members=[member], roles={}, text_channels=[])

    await plugin.omo_demo_setup(plugin=state(runtime).plugin, demo=demo)
    await emulator.send_message(member, emulator.general(guild), "hello demo")

    tiers = await state(runtime).tiers(guild.id)
    bronze = next(t for t in tiers if t.name == "Bronze")
    assert [t.name for t in tiers] == ["Bronze", "Silver", "Gold"]
    await eventually(
        lambda: bronze.role_id in emulator.world.guilds[guild.id].members[member.user_id].roles,
        what="the Bronze tier role after one message",
    )
