"""The emulator's live view at ``/``: guilds, channels and messages as they arrive, read-only."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import aiohttp
import discord
import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory


def tiny_png() -> bytes:
    """A valid 2x2 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def _bot_posts(client: discord.Client, guild: Guild, emulator: Emulator) -> None:
    channel = client.get_channel(emulator.general(guild).id)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="Leaderboard", description="alice leads", color=0x5865F2)
    embed.add_field(name="alice", value="42 points")
    embed.set_image(url="attachment://chart.png")
    await channel.send("Here you go", embed=embed, file=discord.File(io.BytesIO(tiny_png()), "chart.png"))


async def test_feed_lists_guilds_channels_and_new_messages_with_embeds_and_images(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    alice = member_factory("alice")
    await emulator.send_message(alice, emulator.general(guild), "hello bot")
    await _bot_posts(client, guild, emulator)

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emulator.base_url}/_live/feed") as resp:
            feed = await resp.json()
        last = feed["messages"][-1]["id"]
        async with http.get(f"{emulator.base_url}/_live/feed", params={"after": last}) as resp:
            later = await resp.json()
        async with http.get(f"{emulator.base_url}/_live/feed", params={"after": "x"}) as resp:
            bad = resp.status
        async with http.get(f"{emulator.base_url}/", headers={"Accept": "text/html"}) as resp:
            root = (resp.status, resp.content_type)

    (seen,) = [g for g in feed["guilds"] if g["id"] == str(guild.id)]
    assert [c["name"] for c in seen["channels"]] == ["general"]
    said, answered = feed["messages"][-2:]
    assert said["content"] == "hello bot" and said["author"] == {"name": "alice", "bot": False}
    assert answered["author"]["bot"] and answered["content"] == "Here you go"
    (embed,) = answered["embeds"]
    assert embed["title"] == "Leaderboard" and embed["fields"] == [{"name": "alice", "value": "42 points"}]
    assert embed["images"] and embed["images"][0].startswith(emulator.base_url + "/")
    assert later["messages"] == [] and bad == 400
    assert root == (200, "text/html")


@pytest.mark.browser
async def test_live_page_shows_messages_as_they_arrive_at_phone_width(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
    browser: Any,
) -> None:
    client = await discord_client_factory(discord.Client)
    alice = member_factory("alice")
    await emulator.send_message(alice, emulator.general(guild), "before the page opened")
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(emulator.base_url + "/")
        log = page.get_by_role("log")
        await log.get_by_text("before the page opened").wait_for()

        await emulator.send_message(alice, emulator.general(guild), "after it opened")
        await _bot_posts(client, guild, emulator)
        await log.get_by_text("after it opened").wait_for()
        await log.get_by_text("42 points").wait_for()
        await page.wait_for_function(
            "() => [...document.querySelectorAll('[role=log] img')].some(i => i.complete && i.naturalWidth === 2)"
        )
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    finally:
        await context.close()

    assert overflow <= 0
    assert errors == []
