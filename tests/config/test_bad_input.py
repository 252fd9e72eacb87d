"""Bad input from every edge (API, form, ``/config set``, ``/config import``): a clear 4xx or reply, nothing
stored, never a 500. Run on SQLite and, with ``OMO_TEST_DATABASE_URL``, PostgreSQL (which refuses NUL in
JSON and whose ids are 32-bit)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.testing.emulator import Attachment, Emulator, Guild, Member
from tests.config.helpers import ECHO, TYPED, service


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


def api(guild: Guild, rest: str) -> str:
    return f"/api/v1/guilds/{guild.id}/config/{rest}"


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` deep (built as text: ``json.dumps`` itself would recurse)."""
    return "[" * depth + "]" * depth


async def nothing_stored(runtime: Any, guild: Guild) -> bool:
    svc = service(runtime)
    return await svc.history(guild.id) == [] and await svc.overrides(guild.id, "typed") == {}


async def test_deeply_nested_json_is_a_400_and_an_import_is_not_valid_json(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    headers = {"X-CSRF-Token": client.csrf_token, "Content-Type": "application/json"}
    general = emulator.general(guild)

    answers = [
        await client.http.patch(
            api(guild, "settings/typed"), content='{"values": {"tags": ' + nested(depth) + "}}", headers=headers
        )
        for depth in (10_000, 40)
    ]
    document = '{"format": "omo-config", "plugins": {"typed": {"tags": ' + nested(10_000) + "}}}"
    as_file = await emulator.invoke(admin, general, "config import", file=Attachment("omo.json", document.encode()))
    as_text = await emulator.invoke(admin, general, "config import", text=document[:5000] + "]" * 5000)

    assert [a.status_code for a in answers] == [400, 400]
    assert all(a.headers["content-type"].startswith("application/json") for a in answers)
    for reply in (as_file, as_text):
        assert "Nothing was changed: the file is not valid JSON" in (reply.content or "")
    assert "nested more than 32 levels deep" in (as_file.content or "")
    assert await nothing_stored(runtime, guild)


@pytest.mark.parametrize("text", ["a\x00b", "a\x07b"], ids=["nul", "bell"])
async def test_control_characters_are_refused_at_validation_everywhere(
    text: str, emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    general = emulator.general(guild)

    by_api = await client.json("PATCH", api(guild, "settings/typed"), {"values": {"greeting": text}})
    in_list = await client.json("PATCH", api(guild, "settings/typed"), {"values": {"tags": ["ok", text]}})
    by_form = await client.form(f"/guilds/{guild.id}/config/typed", {"greeting": text})
    by_command = await emulator.invoke(admin, general, "config set", plugin="typed", key="greeting", value=text)
    by_import = await emulator.invoke(
        admin, general, "config import", text=json.dumps({"plugins": {"typed": {"greeting": text}}})
    )

    assert by_api.status_code == 400 and in_list.status_code == 400
    what = "a NUL character" if text == "a\x00b" else "a control character (U+0007)"
    assert what in by_api.json()["detail"][0]["message"] and what in in_list.json()["detail"][0]["message"]
    assert by_form.status_code == 400 and what in by_form.text
    assert what in (by_command.content or "") and what in (by_import.content or "")
    assert await nothing_stored(runtime, guild)


async def test_oversized_ids_and_filters_are_400_or_404(
    runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    await client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": 2}})

    queries = ["before=9223372036854775808", "before=-1", "plugin=" + "a" * 5000, "plugin=a%00b", "limit=10000"]
    filtered = [await client.get(api(guild, f"history?{query}")) for query in queries]
    past_32_bits = await client.get(api(guild, "history?before=2147483648"))
    reverts = [
        await client.json("POST", api(guild, f"history/{entry}/revert"))
        for entry in (9223372036854775808, 2147483648, 99999999999999999999999)
    ]
    page_revert = await client.form(f"/guilds/{guild.id}/config/history/9223372036854775808/revert")

    assert [answer.status_code for answer in filtered] == [400] * len(queries)
    assert past_32_bits.status_code == 200 and len(past_32_bits.json()["entries"]) == 1
    assert [answer.status_code for answer in reverts] == [404, 404, 404]
    assert page_revert.status_code == 404
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 2


async def test_a_boolean_is_not_a_number_through_the_api_import_and_command(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    general = emulator.general(guild)

    answers = [
        await client.json("PATCH", api(guild, "settings/typed"), {"values": values})
        for values in ({"limit": True}, {"ratio": False}, {"cooldown": True}, {"excluded": [True]})
    ]
    echo = await client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": True}})
    imported = await emulator.invoke(
        admin, general, "config import", text=json.dumps({"plugins": {"typed": {"limit": True}}})
    )
    command = await emulator.invoke(admin, general, "config set", plugin="typed", key="limit", value="true")

    assert [answer.status_code for answer in answers] == [400, 400, 400, 400] and echo.status_code == 400
    assert "true is yes/no, not a number" in answers[0].json()["detail"][0]["message"]
    assert "Nothing was changed" in (imported.content or "") and "yes/no, not a number" in (imported.content or "")
    assert "not a whole number" in (command.content or "")
    assert await nothing_stored(runtime, guild)
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 1


async def test_values_without_a_declared_limit_are_capped_and_not_echoed_back(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    general = emulator.general(guild)

    many = await client.json("PATCH", api(guild, "settings/typed"), {"values": {"tags": ["t"] * 101}})
    huge = await client.json("PATCH", api(guild, "settings/typed"), {"values": {"tags": ["x" * 300_000] * 3}})
    as_text = await client.form(f"/guilds/{guild.id}/config/typed", {"tags": ",".join(["t"] * 101)})
    imported = await emulator.invoke(
        admin, general, "config import", text=json.dumps({"plugins": {"typed": {"tags": ["y" * 9000]}}})
    )
    fits = await client.json("PATCH", api(guild, "settings/typed"), {"values": {"tags": ["t"] * 100}})

    assert many.status_code == 400 and "101 items is too many (at most 100)" in many.text
    assert huge.status_code == 400 and "too large" in huge.text and len(huge.content) < 2000
    assert as_text.status_code == 400 and "101 items is too many" in as_text.text
    assert "Nothing was changed" in (imported.content or "") and "too large" in (imported.content or "")
    assert fits.status_code == 200, fits.text
    assert await service(runtime).overrides(guild.id, "typed") == {"tags": ["t"] * 100}
