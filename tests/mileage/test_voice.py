"""Voice points per minute through the emulator's voice states: muted, deafened, alone, AFK and excluded members
earn nothing; a minute is counted once."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Channel, Emulator, Guild
from core.testing.pytest_plugin import eventually
from tests.mileage.conftest import mileage_plugins, settled, state


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins(voice_points_per_minute=4)


@pytest.fixture
def afk(emulator: Emulator, guild: Guild) -> Channel:
    """The guild's AFK channel (set before the bot connects: GUILD_CREATE carries it)."""
    channel = emulator.create_channel(guild, "AFK", "voice")
    guild.afk_channel_id = channel.id
    return channel


async def test_voice_minutes_earn_only_for_members_who_take_part(
    emulator: Emulator, guild: Guild, afk: Channel, runtime: Any, admin: Any
) -> None:
    lounge = emulator.create_channel(guild, "Lounge", "voice")
    solo = emulator.create_channel(guild, "Solo", "voice")
    silent_role = emulator.create_role(guild, "Silent")
    people = {
        name: emulator.create_member(guild, name) for name in ("ann", "ben", "mute", "deaf", "away", "idle", "one")
    }
    people["excluded"] = emulator.create_member(guild, "excluded", roles=[silent_role])
    answer = await emulator.invoke(
        admin, emulator.general(guild), "config set", plugin="mileage", key="excluded_roles", value=str(silent_role.id)
    )
    assert "Saved" in (answer.content or "")
    await emulator.join_voice(people["ann"], lounge)
    await emulator.join_voice(people["ben"], lounge)
    await emulator.join_voice(people["mute"], lounge, self_mute=True)
    await emulator.join_voice(people["deaf"], lounge, self_deaf=True)
    await emulator.join_voice(people["excluded"], lounge)
    await emulator.join_voice(people["away"], afk)
    await emulator.join_voice(people["idle"], afk)
    await emulator.join_voice(people["one"], solo)
    bot_guild = runtime.bot.get_guild(guild.id)
    await eventually(lambda: len(bot_guild.get_channel(lounge.id).members) == 5, what="the bot seeing the lounge")
    await eventually(lambda: len(bot_guild.get_channel(afk.id).members) == 2, what="the bot seeing the AFK channel")
    await eventually(lambda: bot_guild.afk_channel is not None, what="the AFK channel known")

    first = await state(runtime).voice_tick(now=6_000_000)
    again = await state(runtime).voice_tick(now=6_000_030)  # the same minute: counted once
    later = await state(runtime).voice_tick(now=6_000_060)

    totals = await (await settled(runtime)).service.totals(guild.id)
    assert (first, again, later) == (2, 2, 2)
    assert totals == {people["ann"].user_id: 8, people["ben"].user_id: 8}
