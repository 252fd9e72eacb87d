"""Messages both ways through a real discord.py client, with the MESSAGE_CONTENT intent rules."""

from __future__ import annotations

import asyncio

import discord
from discord.ext import commands

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory, eventually


async def test_bot_answers_a_message(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    bot = await discord_client_factory(commands.Bot, command_prefix="!")

    @bot.command()
    async def ping(ctx: commands.Context[commands.Bot]) -> None:
        await ctx.reply("pong", mention_author=False)

    alice = member_factory("alice")
    sent = await emulator.send_message(alice, emulator.general(guild), "!ping")
    reply = await emulator.wait_for_bot_message(emulator.general(guild))
    assert reply["content"] == "pong"
    assert reply["message_reference"]["message_id"] == sent["id"]
    assert reply["referenced_message"]["content"] == "!ping"
    assert emulator.bot_actions("message.create")[0]["content"] == "pong"


async def test_message_content_intent_respected(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    intents = discord.Intents.default()
    intents.message_content = False
    client = await discord_client_factory(discord.Client, intents=intents)
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    alice = member_factory("alice")
    general = emulator.general(guild)
    await emulator.send_message(alice, general, "secret words", embeds=[{"title": "hidden"}])
    plain = await asyncio.wait_for(seen.get(), 5)
    assert plain.content == "" and plain.embeds == []
    await emulator.send_message(alice, general, f"<@{emulator.application_id}> visible")
    mention = await asyncio.wait_for(seen.get(), 5)
    assert mention.content.endswith("visible")
    assert client.user in mention.mentions
    await emulator.send_dm(alice, "dm text")
    dm = await asyncio.wait_for(seen.get(), 5)
    assert dm.content == "dm text" and isinstance(dm.channel, discord.DMChannel)


async def test_message_content_visible_with_intent_and_edit_delete_events(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        await events.put(("create", message.content))

    @client.event
    async def on_message_edit(before: discord.Message, after: discord.Message) -> None:
        await events.put(("edit", (before.content, after.content)))

    @client.event
    async def on_message_delete(message: discord.Message) -> None:
        await events.put(("delete", message.id))

    alice = member_factory("alice")
    msg = await emulator.send_message(alice, emulator.general(guild), "hello there")
    assert await asyncio.wait_for(events.get(), 5) == ("create", "hello there")
    await emulator.edit_message(msg, "hello again")
    assert await asyncio.wait_for(events.get(), 5) == ("edit", ("hello there", "hello again"))
    await emulator.delete_message(msg)
    assert await asyncio.wait_for(events.get(), 5) == ("delete", int(msg["id"]))


async def test_bot_sends_edits_lists_and_deletes_through_rest(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    channel = client.get_channel(emulator.general(guild).id)
    assert isinstance(channel, discord.TextChannel)
    alice = member_factory("alice")
    await emulator.send_message(alice, emulator.general(guild), "from alice")
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="x", custom_id="x"))
    sent = await channel.send(
        "one", embed=discord.Embed(title="T"), view=view, file=discord.File(__file__, filename="test.py")
    )
    assert sent.embeds[0].title == "T"
    assert sent.attachments[0].filename == "test.py" and sent.attachments[0].size > 0
    edited = await sent.edit(content="one!")
    assert edited.content == "one!" and edited.edited_at is not None
    two = await channel.send("two")
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["two", "one!", "from alice"]
    after = [m.content async for m in channel.history(after=sent, oldest_first=True)]
    assert after == ["two"]
    fetched = await channel.fetch_message(two.id)
    assert fetched.content == "two"
    async with channel.typing():
        pass
    await two.delete()
    try:
        await channel.fetch_message(two.id)
    except discord.NotFound as exc:
        assert exc.code == 10008
    else:
        raise AssertionError("deleted message still fetchable")
    alice_msg = emulator.messages(emulator.general(guild))[0]
    other = await channel.fetch_message(int(alice_msg["id"]))
    try:
        await other.edit(content="hijack")
    except discord.Forbidden as exc:
        assert exc.code == 50005
    else:
        raise AssertionError("edited another user's message")
    kinds = [a["kind"] for a in emulator.bot_actions()]
    assert kinds.count("message.create") == 2 and "message.edit" in kinds and "message.delete" in kinds
    assert [m["content"] for m in emulator.sent_messages()] == ["one!"]


async def test_message_body_validation(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    channel = client.get_channel(emulator.general(guild).id)
    assert isinstance(channel, discord.TextChannel)
    try:
        await channel.send("x" * 2001)
    except discord.HTTPException as exc:
        assert exc.status == 400 and exc.code == 50035
        assert "content" in str(exc)
    else:
        raise AssertionError("2001 characters accepted")
    try:
        await client.http.send_message(channel.id, params=discord.http.handle_message_parameters(content=""))
    except discord.HTTPException as exc:
        assert exc.code == 50006
    else:
        raise AssertionError("empty message accepted")


async def test_hidden_channel_is_missing_access(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    hidden = emulator.create_channel(
        guild, "staff", overwrites=[{"id": guild.id, "type": 0, "allow": 0, "deny": 1 << 10}]
    )
    client = await discord_client_factory(discord.Client)
    try:
        await client.http.send_message(hidden.id, params=discord.http.handle_message_parameters(content="hi"))
    except discord.Forbidden as exc:
        assert exc.code == 50001
    else:
        raise AssertionError("sent into a channel the bot cannot see")


async def test_wait_for_bot_message_finds_fast_and_multiple_replies(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.content == "count":
            for word in ("one", "two"):
                await message.channel.send(word)

    alice = member_factory("alice")
    await emulator.send_message(alice, emulator.general(guild), "count")
    await eventually(lambda: len(emulator.sent_messages()) == 2, what="both answers sent")  # before waiting
    first = await emulator.wait_for_bot_message()
    second = await emulator.wait_for_bot_message(emulator.general(guild))
    assert (first["content"], second["content"]) == ("one", "two")
    await emulator.send_message(alice, emulator.general(guild), "count")
    assert (await emulator.wait_for_bot_message(predicate=lambda m: m["content"] == "two"))["content"] == "two"
