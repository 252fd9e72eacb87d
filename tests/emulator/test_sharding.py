"""AutoShardedClient: each guild arrives on the shard ``(guild_id >> 22) % shard_count``."""

from __future__ import annotations

import asyncio

import discord
import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.emulator.gateway import shard_for
from core.testing.pytest_plugin import DiscordClientFactory


class QuickShardedClient(discord.AutoShardedClient):
    """Skips discord.py's 5 s pause between shard identifies (its documented override point)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def _guilds_on_both_shards(emulator: Emulator) -> list[Guild]:
    guilds: list[Guild] = []
    while {shard_for(g.id, 2) for g in guilds} != {0, 1}:
        guilds.append(emulator.create_guild(f"Guild {len(guilds)}"))
        await asyncio.sleep(0.002)
    return guilds


async def test_two_shards_receive_their_guilds(
    emulator: Emulator, discord_client_factory: DiscordClientFactory
) -> None:
    emulator.recommended_shards = 2
    guilds = await _guilds_on_both_shards(emulator)
    client = await discord_client_factory(QuickShardedClient)
    assert client.shard_count == 2
    assert emulator.bot_connected_shards == {0, 1}
    for g in guilds:
        dguild = client.get_guild(g.id)
        assert dguild is not None
        assert dguild.shard_id == shard_for(g.id, 2)
    sessions = {s.shard_id: s for s in emulator.gateway.sessions.values()}
    for shard_id, session in sessions.items():
        created = [text for _, text in session.buffer if '"t":"GUILD_CREATE"' in text]
        expected = [g for g in guilds if shard_for(g.id, 2) == shard_id]
        assert len(created) == len(expected)


async def test_events_go_only_to_the_guilds_shard(
    emulator: Emulator, discord_client_factory: DiscordClientFactory
) -> None:
    emulator.recommended_shards = 2
    guilds = await _guilds_on_both_shards(emulator)
    client = await discord_client_factory(QuickShardedClient)
    seen: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        assert message.guild is not None
        await seen.put((message.guild.shard_id, message.content))

    target = guilds[-1]
    member = emulator.create_member(target, "alice")
    await emulator.send_message(member, emulator.general(target), "sharded")
    assert await asyncio.wait_for(seen.get(), 5) == (shard_for(target.id, 2), "sharded")
    other_shard = 1 - shard_for(target.id, 2)
    other = next(s for s in emulator.gateway.sessions.values() if s.shard_id == other_shard)
    assert not any("sharded" in text for _, text in other.buffer)
    await emulator.drop_connection(other_shard)
    await emulator.wait_for_bot_ready(2)
    assert emulator.bot_connected_shards == {0, 1}


@pytest.mark.parametrize("count", [3])
def test_shard_formula(count: int) -> None:
    assert shard_for(123 << 22, count) == 123 % count
