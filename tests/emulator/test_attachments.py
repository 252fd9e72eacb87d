"""Attachment bytes: uploads to slash commands and messages, served by the emulator's CDN to discord.py."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from core.testing.emulator import ATTACHMENT_SIZE_LIMIT, Attachment, Emulator, EmulatorError, Guild
from core.testing.pytest_plugin import DiscordClientFactory, MemberFactory


async def fetch(url: str) -> tuple[int, bytes, str]:
    """GET a URL the way a browser or discord.py would (no token)."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


@pytest.fixture
async def upload_bot(emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory) -> discord.Client:
    """A bare discord.py client with ``/upload file:`` that reads the file and answers with its reverse."""
    client = await discord_client_factory(discord.Client)
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(description="Read a file")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            await interaction.response.send_message(f"failed {exc.status}", ephemeral=True)
            return
        await interaction.response.send_message(
            f"{file.filename} {file.size} {file.content_type} ephemeral={file.ephemeral} {data.decode()}",
            file=discord.File(io.BytesIO(data[::-1]), filename="reversed.txt"),
            ephemeral=True,
        )

    await tree.sync()
    return client


async def test_a_slash_command_reads_the_uploaded_file_and_its_answer_file_is_served(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, upload_bot: discord.Client
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)

    result = await emulator.invoke(alice, general, "upload", file=Attachment("notes.json", b'{"a": 1}'))

    assert result.content == 'notes.json 8 application/json; charset=utf-8 ephemeral=True {"a": 1}'
    [resolved] = result.interaction.data["resolved"]["attachments"].values()
    assert result.interaction.data["options"][0] == {"name": "file", "type": 11, "value": resolved["id"]}
    assert set(resolved) >= {"id", "filename", "size", "url", "proxy_url", "content_type"}
    assert resolved["url"].startswith(f"{emulator.base_url}/ephemeral-attachments/{general.id}/{resolved['id']}/")
    assert resolved["url"] == resolved["proxy_url"] and "hm=" in resolved["url"]
    [answer_file] = (result.message or {})["attachments"]
    status, body, ctype = await fetch(answer_file["url"])
    assert (status, body) == (200, b'}1 :"a"{')
    assert answer_file["ephemeral"] is True and "/ephemeral-attachments/" in answer_file["url"]
    assert ctype.startswith("text/plain")
    assert emulator.attachment_bytes(answer_file) == b'}1 :"a"{'
    downloads = emulator.bot_actions("attachment.download")
    assert [d["status"] for d in downloads] == [200, 200]
    assert downloads[0]["attachment_id"] == resolved["id"]


async def test_a_tuple_or_a_dict_with_content_is_an_upload_too(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, upload_bot: discord.Client
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)

    as_tuple = await emulator.invoke(alice, general, "upload", file=("a b.txt", b"spaced"))
    as_dict = await emulator.invoke(
        alice, general, "upload", file={"filename": "x.csv", "content": "1,2", "content_type": "text/csv"}
    )

    assert as_tuple.content == "a b.txt 6 text/plain; charset=utf-8 ephemeral=True spaced"
    assert as_dict.content == "x.csv 3 text/csv ephemeral=True 1,2"


async def test_a_described_file_without_content_is_not_served(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, upload_bot: discord.Client
) -> None:
    alice = member_factory("alice")

    result = await emulator.invoke(alice, emulator.general(guild), "upload", file={"filename": "gone.json", "size": 12})

    assert result.content == "failed 404"
    assert emulator.bot_actions("attachment.download")[0]["status"] == 404


async def test_bad_uploads_are_refused_before_anything_is_sent(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, upload_bot: discord.Client
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)

    with pytest.raises(EmulatorError, match="content must be bytes"):
        await emulator.invoke(alice, general, "upload", file=("n.txt", 5))
    with pytest.raises(EmulatorError, match="Discord allows"):
        await emulator.invoke(alice, general, "upload", file=("big.bin", b"\0" * (ATTACHMENT_SIZE_LIMIT + 1)))
    with pytest.raises(EmulatorError, match="non-empty filename"):
        await emulator.invoke(alice, general, "upload", file=Attachment(" ", b"x"))
    with pytest.raises(EmulatorError, match="not valid base64"):
        await emulator.invoke(alice, general, "upload", file={"filename": "a", "content_base64": "!!"})

    assert emulator.bot_actions("interaction") == [] and emulator.bot_actions("attachment") == []


async def test_a_message_attachment_is_read_by_the_bot_until_the_message_is_deleted(
    emulator: Emulator,
    guild: Guild,
    member_factory: MemberFactory,
    discord_client_factory: DiscordClientFactory,
) -> None:
    client = await discord_client_factory(discord.Client)
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    alice = member_factory("alice")
    general = emulator.general(guild)
    sent = await emulator.send_message(
        alice, general, "two files", attachments=[("hello.txt", b"hello"), Attachment("raw.bin", b"\x00\xff")]
    )
    message = await asyncio.wait_for(seen.get(), 5)

    first, second = message.attachments
    assert (await first.read(), first.content_type) == (b"hello", "text/plain; charset=utf-8")
    assert (await second.read(), second.content_type) == (b"\x00\xff", "application/octet-stream")
    assert first.url.startswith(f"{emulator.base_url}/attachments/{general.id}/{first.id}/hello.txt?")
    assert not first.ephemeral and sent["attachments"][0]["size"] == 5

    await emulator.delete_message(sent)
    with pytest.raises(discord.NotFound):
        await first.read()


async def test_files_the_bot_uploads_are_served_and_an_edit_that_drops_them_stops_that(
    emulator: Emulator, guild: Guild, discord_client_factory: DiscordClientFactory
) -> None:
    client = await discord_client_factory(discord.Client)
    channel = client.get_channel(emulator.general(guild).id)
    assert isinstance(channel, discord.TextChannel)

    sent = await channel.send("data", file=discord.File(io.BytesIO(b'{"k": true}'), filename="out.json"))
    [attachment] = sent.attachments
    served = await attachment.read()
    await sent.edit(attachments=[])

    assert served == b'{"k": true}'
    assert attachment.content_type == "application/json; charset=utf-8"
    assert attachment.url.startswith(f"{emulator.base_url}/attachments/{channel.id}/{attachment.id}/out.json?")
    with pytest.raises(discord.NotFound):
        await attachment.read()


async def test_a_url_that_was_tampered_with_or_points_elsewhere_answers_404(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)
    sent = await emulator.send_message(alice, general, "", attachments=[("a.txt", b"secret")])
    url: str = sent["attachments"][0]["url"]
    other = emulator.create_channel(guild, "other")

    good = await fetch(url)
    unsigned = await fetch(url.split("?")[0])
    forged = await fetch(url.replace("hm=", "hm=0"))
    moved = await fetch(url.replace(f"/{general.id}/", f"/{other.id}/"))
    renamed = await fetch(url.replace("/a.txt?", "/b.txt?"))

    assert good[:2] == (200, b"secret")
    for status, body, _ in (unsigned, forged, moved, renamed):
        assert (status, body) == (404, b"This content is no longer available.")


async def test_cdn_faults_are_injected_only_by_a_pattern_naming_the_cdn(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, upload_bot: discord.Client
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)
    emulator.fail_next("GET /ephemeral-attachments/*", status=503)

    failed = await emulator.invoke(alice, general, "upload", file=("a.txt", b"x"))
    catch_all = emulator.fail_next("*", status=500)  # the REST API only: the download below is not affected
    [uploaded] = failed.interaction.data["resolved"]["attachments"].values()
    served = await fetch(uploaded["url"])

    assert failed.content == "failed 503"
    assert served[0] == 200 and catch_all.hits == 0


async def test_the_http_control_api_takes_uploads_as_base64_or_text(
    emulator: Emulator, guild: Guild, member_factory: MemberFactory, upload_bot: discord.Client
) -> None:
    alice = member_factory("alice")
    general = emulator.general(guild)
    base = f"{emulator.base_url}/_emulator"

    async with aiohttp.ClientSession() as session:
        body: dict[str, Any] = {
            "user_id": str(alice.id),
            "channel_id": str(general.id),
            "command": "upload",
            "options": {"file": {"filename": "b.txt", "content_base64": base64.b64encode(b"via http").decode()}},
        }
        async with session.post(f"{base}/interactions", json=body) as resp:
            answer = await resp.json()
        message = {"author_id": str(alice.id), "content": "f", "attachments": [{"filename": "m.txt", "content": "hi"}]}
        async with session.post(f"{base}/channels/{general.id}/messages", json=message) as resp:
            posted = await resp.json()

    assert answer["content"] == "b.txt 8 text/plain; charset=utf-8 ephemeral=True via http"
    assert (await fetch(posted["attachments"][0]["url"]))[:2] == (200, b"hi")
