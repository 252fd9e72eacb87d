"""Reconnects, resumes, rate limits and server errors as discord.py experiences them."""

from __future__ import annotations

import asyncio

import discord

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory, eventually


class QuickClient(discord.Client):
    """Skips discord.py's 5 s pause before a re-identify (its documented override point)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def _collector(client: discord.Client) -> tuple[asyncio.Queue[str], list[str]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    resumed: list[str] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        await queue.put(message.content)

    @client.event
    async def on_resumed() -> None:
        resumed.append("resumed")

    return queue, resumed


async def test_dropped_connection_resumes_and_replays_missed_events_once(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    queue, resumed = await _collector(client)
    alice = member_factory("alice")
    general = emulator.general(guild)
    await emulator.send_message(alice, general, "before")
    assert await asyncio.wait_for(queue.get(), 5) == "before"
    await emulator.drop_connection(0)
    assert emulator.bot_connected_shards == set()
    for text in ("missed 1", "missed 2", "missed 3"):
        await emulator.send_message(alice, general, text)
    got = [await asyncio.wait_for(queue.get(), 5) for _ in range(3)]
    assert got == ["missed 1", "missed 2", "missed 3"]
    await emulator.send_message(alice, general, "after")
    assert await asyncio.wait_for(queue.get(), 5) == "after"
    await emulator.send_message(alice, general, "marker")  # events come in order: a duplicate would precede it
    assert await asyncio.wait_for(queue.get(), 5) == "marker"
    assert queue.empty()
    assert resumed == ["resumed"]
    assert emulator.gateway.resumes == 1 and emulator.gateway.identifies == 1
    assert emulator.bot_connected_shards == {0}


async def test_op7_reconnect_resumes(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    queue, resumed = await _collector(client)
    emulator.request_reconnect(0)
    await eventually(lambda: resumed, what="the session resumed")
    assert resumed == ["resumed"]
    await emulator.send_message(member_factory("alice"), emulator.general(guild), "still here")
    assert await asyncio.wait_for(queue.get(), 5) == "still here"


async def test_invalidated_session_reidentifies(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(QuickClient)
    queue, _ = await _collector(client)
    await emulator.drop_connection(0, resume=False)
    await emulator.wait_for_bot_ready()
    assert emulator.gateway.identifies == 2
    await emulator.send_message(member_factory("alice"), emulator.general(guild), "fresh session")
    assert await asyncio.wait_for(queue.get(), 5) == "fresh session"


async def test_429_is_retried_and_lands_once(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    channel = client.get_channel(emulator.general(guild).id)
    assert isinstance(channel, discord.TextChannel)
    fault = emulator.fail_next("POST /channels/{channel_id}/messages", status=429, retry_after=0.05)
    await channel.send("limited")
    assert fault.hits == 1
    assert [m["content"] for m in emulator.sent_messages()] == ["limited"]
    statuses = [r.status for r in emulator.requests if r.route == "POST /channels/{channel_id}/messages"]
    assert statuses == [429, 200]


async def test_global_429_is_retried(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    emulator.fail_next("*", status=429, retry_after=0.05, global_=True)
    user = await client.fetch_user(emulator.application_id)
    assert user.id == emulator.application_id


async def test_5xx_is_retried(emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory) -> None:
    client = await discord_client_factory(discord.Client)
    fault = emulator.fail_next("GET /guilds/*", status=502)
    fetched = await client.fetch_guild(guild.id)
    assert fetched.name == "Test Guild" and fault.hits == 1


async def test_rate_limit_headers_on_every_response(emulator: Emulator, guild: Guild) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for url, headers in [
            (f"{emulator.api_url}/users/@me", {"Authorization": f"Bot {emulator.bot_token}"}),
            (f"{emulator.api_url}/users/@me", {}),
            (f"{emulator.api_url}/no/such/route", {}),
        ]:
            async with session.get(url, headers=headers) as resp:
                for name in (
                    "X-RateLimit-Limit",
                    "X-RateLimit-Remaining",
                    "X-RateLimit-Reset",
                    "X-RateLimit-Reset-After",
                    "X-RateLimit-Bucket",
                ):
                    assert name in resp.headers, (url, name)
                assert resp.headers["Content-Type"] == "application/json"


async def test_enforced_rate_limit_answers_429() -> None:
    import aiohttp

    async with Emulator(rate_limit=2, enforce_rate_limits=True) as emu, aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(3):
            async with session.get(f"{emu.api_url}/users/@me", headers={"Authorization": f"Bot {emu.bot_token}"}) as r:
                statuses.append(r.status)
                if r.status == 429:
                    body = await r.json()
                    assert body["message"] == "You are being rate limited." and body["global"] is False
                    assert r.headers["X-RateLimit-Scope"] == "user" and "Retry-After" in r.headers
        assert statuses == [200, 200, 429]
