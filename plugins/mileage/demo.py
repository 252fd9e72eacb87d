"""``omo demo``: tiers with roles in the demo guild, with thresholds low enough that a chatting member crosses
the first one with their first message and the next ones within a few minutes."""

from __future__ import annotations

from typing import Any

from .state import MileageState

DEMO_TIERS = (("Bronze", 10, 0xCD7F32), ("Silver", 60, 0xC0C0C0), ("Gold", 150, 0xFFD700))


async def set_up_demo(state: MileageState, demo: Any) -> None:
    """Create the tier roles in the emulator's demo guild and the tiers that grant them."""
    emulator, guild = demo.emulator, demo.guild
    for name, threshold, colour in DEMO_TIERS:
        role = emulator.create_role(guild, f"{name} tier", color=colour)
        await state.service.add_tier(guild.id, name, threshold, "points", role.id)
    state.tiers_changed(guild.id)
    state.plugin.log.info("demo tiers ready", tiers=[t[0] for t in DEMO_TIERS])
