"""Control-API changes to guild structure reach discord.py as the matching gateway events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import discord
import pytest
from discord import app_commands

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory, eventually


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"heartbeat_interval_ms": 500, "interaction_ack_timeout": 1.0}


async def test_channel_role_and_member_events(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def listen(name: str, pick: Any) -> None:
        async def handler(*args: Any) -> None:
            await events.put((name, pick(*args)))

        handler.__name__ = f"on_{name}"
        client.event(handler)

    listen("guild_channel_create", lambda c: c.name)
    listen("guild_channel_update", lambda before, after: (before.name, after.name))
    listen("guild_channel_delete", lambda c: c.name)
    listen("thread_create", lambda t: (t.name, t.parent_id))
    listen("guild_role_create", lambda r: r.name)
    listen("guild_role_update", lambda before, after: (before.name, after.name))
    listen("guild_role_delete", lambda r: r.name)
    listen("member_join", lambda m: m.name)
    listen("member_remove", lambda m: m.name)

    async def expect(name: str, wanted: Any) -> None:
        while True:
            got, value = await asyncio.wait_for(events.get(), 5)
            if (got, value) == (name, wanted):
                return

    general = emulator.general(guild)
    news = emulator.create_channel(guild, "news", "text", parent=general.parent_id, topic="t")
    await expect("guild_channel_create", "news")
    emulator.update_channel(news, name="big-news")
    await expect("guild_channel_update", ("news", "big-news"))
    thread = emulator.create_channel(guild, "chat", "thread", parent=general)
    await expect("thread_create", ("chat", general.id))
    emulator.delete_channel(news)
    await expect("guild_channel_delete", "big-news")
    role = emulator.create_role(guild, "Gold")
    await expect("guild_role_create", "Gold")
    emulator.update_role(guild, role, name="Golden")
    await expect("guild_role_update", ("Gold", "Golden"))
    emulator.delete_role(guild, role)
    await expect("guild_role_delete", "Golden")
    alice = member_factory("alice")
    await expect("member_join", "alice")
    emulator.remove_member(guild, alice)
    await expect("member_remove", "alice")
    dguild = client.get_guild(guild.id)
    assert dguild is not None and dguild.get_thread(thread.id) is not None
    snap = emulator.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert {c["name"] for c in snap["guilds"][0]["channels"]} == {"Text Channels", "general"}
    assert [t["name"] for t in snap["guilds"][0]["threads"]] == ["chat"]


async def test_bot_own_member_update_without_members_intent(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client, intents=discord.Intents.default())
    dguild = client.get_guild(guild.id)
    assert dguild is not None
    await dguild.me.edit(nick="Botty")
    await eventually(lambda: dguild.me.nick == "Botty", what="the nick change")


async def test_interaction_ack_deadline_gives_unknown_interaction(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    tree = app_commands.CommandTree(client)
    errors: asyncio.Queue[int] = asyncio.Queue()

    @tree.command(description="Too slow")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(1.2)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as exc:
            await errors.put(exc.code)

    await tree.sync()
    with pytest.raises(TimeoutError):
        await emulator.invoke(member_factory("alice"), emulator.general(guild), "late", timeout=1.5)
    assert await asyncio.wait_for(errors.get(), 5) == 10062


async def test_dm_slash_command(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    tree = app_commands.CommandTree(client)

    @tree.command(description="Where am I")
    async def where(interaction: discord.Interaction) -> None:
        kind = "dm" if interaction.guild_id is None else "guild"
        await interaction.response.send_message(f"{kind} {interaction.user.name}")

    await tree.sync()
    alice = member_factory("alice")
    dm = emulator.world.dm_channel(emulator.user(alice.user_id))
    result = await emulator.invoke(alice, dm, "where")
    assert result.content == "dm alice"


async def test_bot_creates_threads(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    channel = client.get_channel(emulator.general(guild).id)
    assert isinstance(channel, discord.TextChannel)
    thread = await channel.create_thread(name="plans", type=discord.ChannelType.public_thread)
    assert thread.parent_id == channel.id and thread.owner_id == emulator.application_id
    sent = await thread.send("inside")
    assert sent.channel.id == thread.id
    message = await channel.send("start here")
    from_message = await message.create_thread(name="replies")
    assert from_message.id == message.id
    assert [a["name"] for a in emulator.bot_actions("thread")] == ["plans", "replies"]
