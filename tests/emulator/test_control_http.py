"""The HTTP control API under /_emulator, and the standalone server."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import discord
from discord import app_commands

from core.testing.emulator import Emulator
from core.testing.emulator.standalone import build_demo, serve_standalone
from core.testing.pytest_plugin import DiscordClientFactory


async def test_http_control_api_drives_a_bot(emulator: Emulator, discord_client_factory: DiscordClientFactory) -> None:
    async with aiohttp.ClientSession() as session:
        base = f"{emulator.base_url}/_emulator"

        async def call(method: str, path: str, body: object = None, status: int = 200) -> dict:
            async with session.request(method, base + path, json=body) as resp:
                assert resp.status == status, await resp.text()
                return await resp.json()

        info = await call("GET", "")
        assert info["bot_token"] == emulator.bot_token
        guild = await call("POST", "/guilds", {"name": "HTTP Guild"}, status=201)
        gid = guild["id"]
        channel = await call("POST", f"/guilds/{gid}/channels", {"name": "lobby"}, status=201)
        role = await call("POST", f"/guilds/{gid}/roles", {"name": "Gold", "permissions": 0}, status=201)
        member = await call("POST", f"/guilds/{gid}/members", {"username": "bob"}, status=201)
        uid = member["user"]["id"]
        updated = await call("PUT", f"/guilds/{gid}/members/{uid}/roles/{role['id']}")
        assert updated["roles"] == [role["id"]]

        client = await discord_client_factory(discord.Client)
        tree = app_commands.CommandTree(client)

        @tree.command(description="Echo")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(text)

        await tree.sync()
        result = await call(
            "POST",
            "/interactions",
            {
                "user_id": uid,
                "channel_id": channel["id"],
                "command": "echo",
                "options": {"text": "over http"},
            },
        )
        assert result["content"] == "over http" and result["type"] == 4
        posted = await call(
            "POST", f"/channels/{channel['id']}/messages", {"author_id": uid, "content": "hey"}, status=201
        )
        assert posted["content"] == "hey"
        assert [m["content"] for m in await call("GET", f"/channels/{channel['id']}/messages")] == [
            "over http",
            "hey",
        ]
        sent = await call("GET", f"/sent-messages?channel_id={channel['id']}")
        assert [m["content"] for m in sent] == ["over http"]
        assert (await call("GET", "/actions?kind=commands"))[0]["kind"] == "commands.overwrite"
        await call("POST", "/faults", {"route": "GET /users/*", "status": 500}, status=201)
        assert emulator.faults[0].status == 500
        emulator.faults.clear()
        await call("POST", "/shards/0/drop", {"resume": True})
        await emulator.wait_for_bot_ready()
        approved = await call("POST", "/oauth/approve", {"user_id": uid, "redirect_uri": "http://localhost/cb"})
        assert approved["url"].startswith("http://localhost/cb?code=")
        snap = await call("GET", "/snapshot")
        assert [g["name"] for g in snap["guilds"]] == ["HTTP Guild"]
        assert snap["commands"][0]["name"] == "echo"
        bad = await call(
            "POST",
            "/interactions",
            {"user_id": uid, "channel_id": channel["id"], "command": "nope"},
            status=400,
        )
        assert bad["error"] == "EmulatorError"


async def test_standalone_serves_a_demo_guild() -> None:
    demo = build_demo(Emulator())
    assert {c.name for c in next(iter(demo.world.guilds.values())).channels.values()} >= {
        "general",
        "announcements",
        "Voice",
    }
    running: asyncio.Future[Emulator] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve_standalone("127.0.0.1", 0, started=running.set_result))
    try:
        emu = await asyncio.wait_for(running, 5)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{emu.base_url}/_emulator/snapshot") as resp,
        ):
            snap = await resp.json()
        assert snap["guilds"][0]["name"] == "omo demo"
        assert len(snap["guilds"][0]["members"]) >= 4
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
