"""Role changes by the bot follow Discord's permission and hierarchy rules."""

from __future__ import annotations

import asyncio

import discord

from core.testing.emulator import Emulator, Guild
from core.testing.emulator import permissions as P
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory, eventually


async def test_role_add_below_bot_dispatches_member_update(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    updates: asyncio.Queue[discord.Member] = asyncio.Queue()

    @client.event
    async def on_member_update(before: discord.Member, after: discord.Member) -> None:
        await updates.put(after)

    gold = emulator.create_role(guild, "Gold")
    alice = member_factory("alice")
    dguild = client.get_guild(guild.id)
    assert dguild is not None
    member = await dguild.fetch_member(alice.user_id)
    role = dguild.get_role(gold.id)
    assert role is not None and role < dguild.me.top_role
    await member.add_roles(role)
    after = await asyncio.wait_for(updates.get(), 5)
    assert [r.name for r in after.roles][1:] == ["Gold"]
    assert gold.id in emulator.member(guild, alice).roles
    await member.remove_roles(role)
    after = await asyncio.wait_for(updates.get(), 5)
    assert [r.name for r in after.roles] == ["@everyone"]
    kinds = [a["kind"] for a in emulator.bot_actions("role")]
    assert kinds == ["role.add", "role.remove"]


async def test_role_above_bot_is_forbidden_50013(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    top = emulator.bot_role(guild).position
    boss = emulator.create_role(guild, "Boss", position=top + 1)
    alice = member_factory("alice")
    client = await discord_client_factory(discord.Client)
    dguild = client.get_guild(guild.id)
    assert dguild is not None
    member = dguild.get_member(alice.user_id)
    assert member is not None
    try:
        await member.add_roles(discord.Object(boss.id))
    except discord.Forbidden as exc:
        assert exc.status == 403 and exc.code == 50013 and exc.text == "Missing Permissions"
    else:
        raise AssertionError("role above the bot was assigned")
    assert boss.id not in emulator.member(guild, alice).roles


async def test_role_change_without_manage_roles_is_forbidden(
    emulator: Emulator, member_factory: MemberFactory, discord_client_factory: DiscordClientFactory
) -> None:
    weak = emulator.create_guild("Weak", bot_permissions=P.DEFAULT_EVERYONE)
    low = emulator.create_role(weak, "Low")
    alice = member_factory("alice", guild=weak)
    client = await discord_client_factory(discord.Client)
    try:
        await client.http.add_role(weak.id, alice.user_id, low.id)
    except discord.Forbidden as exc:
        assert exc.code == 50013
    else:
        raise AssertionError("role assigned without MANAGE_ROLES")


async def test_member_patch_roles_and_nick(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    gold = emulator.create_role(guild, "Gold")
    alice = member_factory("alice")
    client = await discord_client_factory(discord.Client)
    dguild = client.get_guild(guild.id)
    assert dguild is not None
    member = dguild.get_member(alice.user_id)
    assert member is not None
    await member.edit(nick="Ali", roles=[discord.Object(gold.id)])
    assert emulator.member(guild, alice).nick == "Ali"
    assert emulator.member(guild, alice).roles == [gold.id]
    owner = dguild.get_member(guild.owner_id)
    assert owner is not None
    try:
        await owner.edit(nick="nope")
    except discord.Forbidden as exc:
        assert exc.code == 50013
    else:
        raise AssertionError("renamed the owner")


async def test_moderator_role_changes_and_voice_reach_the_bot(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    intents = discord.Intents.default()
    intents.members = True
    client = await discord_client_factory(discord.Client, intents=intents)
    voice_events: asyncio.Queue[tuple[object, object]] = asyncio.Queue()

    @client.event
    async def on_voice_state_update(
        member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        await voice_events.put((before.channel and before.channel.name, after.channel and after.channel.name))

    vc = emulator.create_channel(guild, "Lounge", "voice")
    gold = emulator.create_role(guild, "Gold")
    alice = member_factory("alice")
    await emulator.add_role(guild, alice, gold)
    dguild = client.get_guild(guild.id)
    assert dguild is not None

    def has_gold() -> bool:
        m = dguild.get_member(alice.user_id)
        return m is not None and any(r.id == gold.id for r in m.roles)

    await eventually(has_gold, what="GUILD_MEMBER_UPDATE applied")
    await emulator.join_voice(alice, vc)
    assert await asyncio.wait_for(voice_events.get(), 5) == (None, "Lounge")
    await emulator.leave_voice(alice, guild)
    assert await asyncio.wait_for(voice_events.get(), 5) == ("Lounge", None)


def test_permission_rules() -> None:
    base = P.base_permissions(
        user_id=1, owner_id=2, everyone_permissions=P.VIEW_CHANNEL, role_permissions=[P.SEND_MESSAGES]
    )
    assert base == P.VIEW_CHANNEL | P.SEND_MESSAGES
    assert P.base_permissions(user_id=2, owner_id=2, everyone_permissions=0, role_permissions=[]) == P.ALL
    assert (
        P.base_permissions(user_id=1, owner_id=2, everyone_permissions=0, role_permissions=[P.ADMINISTRATOR]) == P.ALL
    )
    overwrites = [
        {"id": 10, "type": 0, "allow": 0, "deny": P.SEND_MESSAGES},
        {"id": 20, "type": 0, "allow": P.SEND_MESSAGES, "deny": 0},
        {"id": 1, "type": 1, "allow": 0, "deny": P.VIEW_CHANNEL},
    ]
    assert P.apply_overwrites(base, guild_id=10, user_id=5, member_role_ids=[], overwrites=overwrites) == P.VIEW_CHANNEL
    assert P.apply_overwrites(base, guild_id=10, user_id=5, member_role_ids=[20], overwrites=overwrites) == base
    assert P.apply_overwrites(base, guild_id=10, user_id=1, member_role_ids=[20], overwrites=overwrites) == 0
