"""The demo set-up through core's demo: tier roles in the demo guild and low thresholds, so a simulated member
crosses a tier with their first message."""

from __future__ import annotations

from typing import Any

from core.demo import build_world, setup_plugins
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually
from tests.mileage.conftest import mileage_plugins, state


async def test_the_demo_world_gets_tiers_that_a_chatting_member_reaches(
    emulator: Emulator, runtime_factory: Any
) -> None:
    world = build_world(emulator, 3)
    runtime = await runtime_factory(mileage_plugins())

    failed = await setup_plugins(runtime, world)
    member = world.members[0]
    await emulator.send_message(member, world.chat_channels[0], "hello demo")

    tiers = await state(runtime).tiers(world.guild.id)
    bronze = next(t for t in tiers if t.name == "Bronze")
    assert failed == [] and [t.name for t in tiers] == ["Bronze", "Silver", "Gold"]
    await eventually(
        lambda: bronze.role_id in emulator.world.guilds[world.guild.id].members[member.user_id].roles,
        what="the Bronze tier role after one message",
    )
