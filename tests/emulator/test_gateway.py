"""A real discord.py client against the emulated gateway: connect, ready, guild payloads, errors."""

from __future__ import annotations

import asyncio
import json
import zlib

import aiohttp
import discord
import pytest
import zstandard

from core.testing.emulator import Emulator, Guild, point_discord_py_at
from core.testing.emulator.gateway import Compressor
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory


async def test_bare_client_connects_and_receives_guild(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    voice = emulator.create_channel(guild, "Voice", "voice")
    alice = member_factory("alice")
    await emulator.join_voice(alice, voice)
    client = await discord_client_factory(discord.Client)
    assert client.user is not None and client.user.id == emulator.application_id
    assert client.application_id == emulator.application_id
    dguild = client.get_guild(guild.id)
    assert dguild is not None
    assert dguild.name == "Test Guild"
    assert {c.name for c in dguild.channels} == {"Text Channels", "general", "Voice"}
    assert dguild.get_member(alice.user_id) is not None
    assert dguild.member_count == 3 and dguild.chunked
    assert dguild.me.guild_permissions.manage_roles
    assert dguild.voice_channels[0].members[0].id == alice.user_id
    assert emulator.bot_connected_shards == {0}


async def test_members_list_respects_guild_members_intent(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    member_factory("alice")
    client = await discord_client_factory(discord.Client, intents=discord.Intents.default())
    dguild = client.get_guild(guild.id)
    assert dguild is not None
    assert [m.id for m in dguild.members] == [emulator.application_id]
    assert dguild.member_count == 3


async def test_guild_created_after_connect_arrives(
    emulator: Emulator, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    joined = asyncio.get_running_loop().create_future()
    client.event(_resolver("on_guild_join", joined))
    new = emulator.create_guild("Late Guild")
    got = await asyncio.wait_for(joined, 5)
    assert got.id == new.id and got.name == "Late Guild"


async def test_wrong_bot_token_is_login_failure(emulator: Emulator) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_identify_with_wrong_token_closes_4004(emulator: Emulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws,
    ):
        hello = await ws.receive_json()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 1000
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 513, "properties": {}}})
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004


async def test_raw_gateway_protocol_heartbeat_sharding_and_errors(emulator: Emulator, guild: Guild) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json()) == {"op": 11, "d": None}
            await ws.send_json(
                {"op": 2, "d": {"token": emulator.bot_token, "intents": 1, "properties": {}, "shard": [0, 1]}}
            )
            ready = await ws.receive_json()
            assert ready["t"] == "READY" and ready["s"] == 1
            assert ready["d"]["guilds"] == [{"id": str(guild.id), "unavailable": True}]
            assert ready["d"]["resume_gateway_url"] == emulator.gateway_url
            assert ready["d"]["shard"] == [0, 1]
            create = await ws.receive_json()
            assert create["t"] == "GUILD_CREATE" and create["s"] == 2
            assert create["d"]["members"][0]["user"]["id"] == str(emulator.application_id)
            emulator.request_heartbeat(0)
            assert (await ws.receive_json())["op"] == 1
            await ws.send_json({"op": 2, "d": {"token": emulator.bot_token, "intents": 1, "properties": {}}})
            await ws.receive()
            assert ws.close_code == 4005
        async with session.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json(
                {"op": 2, "d": {"token": emulator.bot_token, "intents": 1, "properties": {}, "shard": [2, 2]}}
            )
            await ws.receive()
            assert ws.close_code == 4010
        async with session.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 99, "d": None})
            await ws.receive()
            assert ws.close_code == 4003
        async with session.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": emulator.bot_token, "properties": {}}})
            await ws.receive()
            assert ws.close_code == 4013


async def test_disallowed_privileged_intent_closes_4014() -> None:
    async with Emulator(allowed_intents=0) as emu:
        emu.create_guild("G")
        client = discord.Client(intents=discord.Intents.all())
        point_discord_py_at(emu.base_url)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with client:
                await client.login(emu.bot_token)
                await asyncio.wait_for(client.connect(reconnect=True), 10)


async def test_zlib_stream_matches_discord_decoding(emulator: Emulator, guild: Guild) -> None:
    """zlib-stream: one context per connection, every message ending in Z_SYNC_FLUSH (discord.py's check)."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(emulator.gateway_url + "?v=10&encoding=json&compress=zlib-stream") as ws,
    ):
        inflate = zlib.decompressobj()
        frames = []
        hello = await ws.receive_bytes()
        assert hello.endswith(b"\x00\x00\xff\xff")
        frames.append(json.loads(inflate.decompress(hello)))
        await ws.send_json({"op": 2, "d": {"token": emulator.bot_token, "intents": 513, "properties": {}}})
        for _ in range(2):
            data = await ws.receive_bytes()
            assert data.endswith(b"\x00\x00\xff\xff")
            frames.append(json.loads(inflate.decompress(data)))
    assert [f.get("t") for f in frames] == [None, "READY", "GUILD_CREATE"]


def test_zstd_compressor_decodes_with_discord_py_context() -> None:
    from discord.utils import _ActiveDecompressionContext

    assert _ActiveDecompressionContext.COMPRESSION_TYPE == "zstd-stream"
    comp = Compressor("zstd-stream")
    ctx = _ActiveDecompressionContext()
    for i in range(50):
        text = json.dumps({"op": 0, "s": i, "d": {"x": "y" * i}})
        frame = comp.compress(text)
        assert isinstance(frame, bytes)
        assert ctx.decompress(frame) == text
    assert zstandard is not None


def _resolver(name: str, future: asyncio.Future[object]):  # type: ignore[no-untyped-def]
    async def handler(value: object) -> None:
        if not future.done():
            future.set_result(value)

    handler.__name__ = name
    return handler


async def test_large_guild_is_chunked_by_the_client(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    for i in range(300):
        member_factory(f"user{i:03d}")
    client = await discord_client_factory(discord.Client)
    dguild = client.get_guild(guild.id)
    assert dguild is not None and dguild.large
    assert dguild.chunked and len(dguild.members) == 302
    session = next(iter(emulator.gateway.sessions.values()))
    assert any('"t":"GUILD_MEMBERS_CHUNK"' in text for _, text in session.buffer)
    assert dguild.get_member_named("user299") is not None
