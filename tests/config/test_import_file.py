"""``/config import file:`` end to end: the file's bytes go through the emulator's CDN to the real bot."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from core.testing.emulator import Attachment, Emulator, Guild, Member
from tests.config.helpers import service


def export_file(plugins: dict[str, Any]) -> Attachment:
    """A file like the ones ``/config export`` makes."""
    document = {"format": "omo-config", "version": 1, "plugins": plugins}
    return Attachment("omo-config.json", json.dumps(document, indent=2).encode())


async def download(url: str) -> bytes:
    """Fetch an attachment URL from the emulator's CDN, as a user's browser would."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def test_a_valid_file_changes_the_settings(emulator: Emulator, runtime: Any, guild: Guild, admin: Member) -> None:
    general = emulator.general(guild)

    answer = await emulator.invoke(
        admin, general, "config import", file=export_file({"echo": {"repeat": 3, "prefix": "$"}})
    )
    show = await emulator.invoke(admin, general, "config show", plugin="echo")
    echo = await emulator.invoke(admin, general, "echo", text="z")

    assert answer.ephemeral and "Imported 2 change(s)" in (answer.content or "")
    assert "**echo.repeat**: `1` → `3`" in (answer.content or "")
    assert "**prefix** = `$` *(changed here)*" in show.embeds[0]["description"]
    assert echo.content == "$z$z$z"
    assert [d["status"] for d in emulator.bot_actions("attachment.download")] == [200]


async def test_a_file_with_one_bad_value_changes_nothing_and_names_the_key(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "config set", plugin="echo", key="prefix", value="~")

    answer = await emulator.invoke(
        admin, general, "config import", file=export_file({"echo": {"prefix": "$", "repeat": 9}})
    )
    echo = await emulator.invoke(admin, general, "echo", text="z")

    content = answer.content or ""
    assert answer.ephemeral and "Nothing was changed: this value was refused." in content
    assert "`echo.repeat`" in content and "a whole number from 1 to 5" in content
    assert "echo.prefix" not in content
    assert await service(runtime).overrides(guild.id, "echo") == {"prefix": "~"}
    assert echo.content == "~z"


async def test_a_file_that_is_not_json_gets_a_clear_error_and_changes_nothing(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)

    broken = await emulator.invoke(admin, general, "config import", file=("omo-config.json", b'{"plugins": {'))
    binary = await emulator.invoke(admin, general, "config import", file=("photo.png", b"\x89PNG\r\n\x1a\n\x00"))
    a_list = await emulator.invoke(admin, general, "config import", file=("list.json", b"[1, 2]"))

    assert "Nothing was changed: the file is not valid JSON (line 1, column 14)." in (broken.content or "")
    assert "Nothing was changed: the file is not valid JSON." in (binary.content or "")
    assert "Nothing was changed" in (a_list.content or "") and "must hold a JSON object" in (a_list.content or "")
    assert await service(runtime).history(guild.id) == []
    assert (await emulator.invoke(admin, general, "echo", text="z")).content == ">z"


async def test_a_file_too_large_is_refused_without_downloading_it(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    padding = " " * (256 * 1024)
    big = ("omo-config.json", ('{"plugins": {"echo": {"repeat": 2}}}' + padding).encode())

    answer = await emulator.invoke(admin, general, "config import", file=big)

    assert "The file is too large (262180 bytes; at most 262144)" in (answer.content or "")
    assert emulator.bot_actions("attachment.download") == []
    assert await service(runtime).history(guild.id) == []


async def test_a_download_that_fails_is_reported_and_changes_nothing(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    emulator.fail_next("GET /ephemeral-attachments/*", status=503)

    answer = await emulator.invoke(admin, general, "config import", file=export_file({"echo": {"repeat": 2}}))

    assert "Could not download the file (503); try again." in (answer.content or "")
    assert await service(runtime).history(guild.id) == []


async def test_the_exported_file_round_trips_through_import(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "config set", plugin="echo", key="prefix", value="~")
    await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="3")

    export = await emulator.invoke(admin, general, "config export")
    [attachment] = (export.message or {})["attachments"]
    data = await download(attachment["url"])
    await emulator.invoke(admin, general, "config reset", plugin="echo")
    reset_echo = await emulator.invoke(admin, general, "echo", text="z")
    imported = await emulator.invoke(admin, general, "config import", file=Attachment(attachment["filename"], data))
    again = await emulator.invoke(admin, general, "config import", file=Attachment(attachment["filename"], data))

    assert attachment["filename"] == f"omo-config-{guild.id}.json" and attachment["size"] == len(data)
    assert attachment["content_type"] == "application/json; charset=utf-8" and attachment["ephemeral"] is True
    assert json.loads(data)["plugins"] == {"echo": {"prefix": "~", "repeat": 3}}
    assert reset_echo.content == ">z"
    assert "Imported 2 change(s)" in (imported.content or "")
    assert "already like that; nothing changed" in (again.content or "")
    assert await service(runtime).overrides(guild.id, "echo") == {"prefix": "~", "repeat": 3}
    assert (await emulator.invoke(admin, general, "echo", text="z")).content == "~z~z~z"
