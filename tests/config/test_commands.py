"""``/config`` end to end: the emulator invokes the commands, the real discord.py bot answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from tests.config.helpers import ECHO, TYPED, service


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


async def test_set_changes_what_the_echo_command_answers(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    before = await emulator.invoke(admin, general, "echo", text="hi")

    await emulator.invoke(admin, general, "config set", plugin="echo", key="prefix", value="~")
    answer = await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="3")
    after = await emulator.invoke(admin, general, "echo", text="hi")

    assert before.content == ">hi"
    assert answer.ephemeral and "echo.repeat" in (answer.content or "") and "`1` → `3`" in (answer.content or "")
    assert after.content == "~hi~hi~hi"


async def test_an_invalid_value_is_refused_with_its_reason_and_nothing_changes(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)

    refused = await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="9")
    not_a_number = await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="many")
    too_long = await emulator.invoke(admin, general, "config set", plugin="echo", key="prefix", value="abcdefg")
    echo = await emulator.invoke(admin, general, "echo", text="x")

    assert refused.ephemeral and "Nothing was changed" in (refused.content or "")
    assert "`echo.repeat`" in (refused.content or "") and "a whole number from 1 to 5" in (refused.content or "")
    assert "'many' is not a whole number" in (not_a_number.content or "")
    assert "text of at most 5 characters" in (too_long.content or "")
    assert echo.content == ">x"
    assert await service(runtime).history(guild.id) == []


async def test_unknown_plugin_and_key_are_refused(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)

    plugin = await emulator.invoke(admin, general, "config set", plugin="nope", key="a", value="1")
    key = await emulator.invoke(admin, general, "config set", plugin="echo", key="colour", value="red")

    assert "no running plugin `nope`" in (plugin.content or "")
    assert "has no setting `colour`" in (key.content or "") and "prefix, repeat" in (key.content or "")


async def test_show_lists_values_and_marks_changed_ones(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "config set", plugin="typed", key="every", value="1h30m")
    await emulator.invoke(admin, general, "config set", plugin="typed", key="channel", value="#general")

    one = await emulator.invoke(admin, general, "config show", plugin="typed")
    every = await emulator.invoke(admin, general, "config show")

    text = one.embeds[0]["description"]
    assert "**every** = `1h30m` *(changed here)*" in text
    assert f"**channel** = <#{general.id}> *(changed here)*" in text
    assert "**limit** = `10`\n" in text
    assert "__**echo**__" in every.embeds[0]["description"] and "__**typed**__" in every.embeds[0]["description"]


async def test_reset_puts_the_default_back(emulator: Emulator, runtime: Any, guild: Guild, admin: Member) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="2")
    await emulator.invoke(admin, general, "config set", plugin="echo", key="prefix", value="!")

    one = await emulator.invoke(admin, general, "config reset", plugin="echo", key="repeat")
    assert (await emulator.invoke(admin, general, "echo", text="a")).content == "!a"
    every = await emulator.invoke(admin, general, "config reset", plugin="echo")
    again = await emulator.invoke(admin, general, "config reset", plugin="echo")

    assert "`2` → `1` (default)" in (one.content or "")
    assert "echo.prefix" in (every.content or "")
    assert "already on the default" in (again.content or "")
    assert (await emulator.invoke(admin, general, "echo", text="a")).content == ">a"


async def test_history_shows_who_when_old_new_and_revert_restores(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="2")
    await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="4")
    [latest, _] = await service(runtime).history(guild.id, "echo")

    history = await emulator.invoke(admin, general, "config history", plugin="echo")
    reverted = await emulator.invoke(admin, general, "config revert", entry=latest.id)
    echo = await emulator.invoke(admin, general, "echo", text="b")
    missing = await emulator.invoke(admin, general, "config revert", entry=999999)

    lines = history.embeds[0]["description"].splitlines()
    assert lines[0].startswith(f"`#{latest.id}` <t:") and f"`2` → `4` by <@{admin.user_id}> via command" in lines[0]
    assert "`1` → `2`" in lines[1]
    assert f"Reverted #{latest.id}" in (reverted.content or "")
    assert echo.content == ">b>b"
    assert "no settings history entry #999999" in (missing.content or "")


async def test_a_member_without_manage_server_is_refused_every_subcommand(
    emulator: Emulator, runtime: Any, guild: Guild, member: Member
) -> None:
    general = emulator.general(guild)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("config show", {}),
        ("config set", {"plugin": "echo", "key": "repeat", "value": "2"}),
        ("config reset", {"plugin": "echo"}),
        ("config history", {}),
        ("config revert", {"entry": 1}),
        ("config export", {}),
        ("config import", {"text": "{}"}),
    ]
    answers = [await emulator.invoke(member, general, name, **opts) for name, opts in calls]
    choices = await emulator.autocomplete(member, general, "config set", "plugin", "")

    assert all("Manage Server" in (a.content or "") and a.ephemeral for a in answers)
    assert choices == []
    assert await service(runtime).history(guild.id) == []


async def test_manage_server_is_checked_on_the_server_not_only_by_default_permissions(
    emulator: Emulator, runtime: Any, guild: Guild
) -> None:
    # The emulator delivers the interaction whatever default_member_permissions says, as Discord does for
    # a server whose admins overrode the command's permissions: the bot must still refuse.
    registered = {c["name"]: c for c in emulator.registered_commands()}
    mo = emulator.create_member(guild, "plain")

    answer = await emulator.invoke(mo, emulator.general(guild), "config set", plugin="echo", key="repeat", value="2")

    assert registered["config"]["default_member_permissions"] == str(1 << 5)
    assert "Manage Server" in (answer.content or "")


async def test_administrator_may_use_config(emulator: Emulator, runtime: Any, guild: Guild) -> None:
    boss = emulator.create_member(guild, "boss", roles=[emulator.create_role(guild, "Boss", permissions=1 << 3)])

    answer = await emulator.invoke(boss, emulator.general(guild), "config set", plugin="echo", key="repeat", value="2")

    assert (answer.content or "").startswith("Saved.")


async def test_autocomplete_offers_plugins_keys_and_values(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    emulator.create_role(guild, "Gold")
    news = emulator.create_channel(guild, "news")
    ac = emulator.autocomplete

    plugins = await ac(admin, general, "config set", "plugin", "")
    keys = await ac(admin, general, "config set", "key", "rep", options={"plugin": "echo"})
    booleans = await ac(admin, general, "config set", "value", "", options={"plugin": "typed", "key": "active"})
    choices = await ac(admin, general, "config set", "value", "g", options={"plugin": "typed", "key": "colour"})
    enums = await ac(admin, general, "config set", "value", "", options={"plugin": "typed", "key": "mode"})
    channels = await ac(admin, general, "config set", "value", "ne", options={"plugin": "typed", "key": "channel"})
    roles = await ac(admin, general, "config set", "value", "go", options={"plugin": "typed", "key": "role"})
    zones = await ac(admin, general, "config set", "value", "europe/par", options={"plugin": "typed", "key": "zone"})
    listed = await ac(
        admin, general, "config set", "value", f"{general.id}, n", options={"plugin": "typed", "key": "excluded"}
    )

    assert [c["value"] for c in plugins] == ["echo", "typed"]
    assert keys == [{"name": "repeat = 1 (a whole number from 1 to 5)", "value": "repeat"}]
    assert [c["value"] for c in booleans] == ["yes", "no"]
    assert [c["value"] for c in choices] == ["green"]
    assert [c["value"] for c in enums] == ["quiet", "loud"]
    assert {"name": "#news", "value": str(news.id)} in channels
    assert [c["name"] for c in roles] == ["@Gold"]
    assert [c["value"] for c in zones] == ["Europe/Paris"]
    assert {"name": f"{general.id}, #news", "value": f"{general.id}, {news.id}"} in listed


async def test_typed_values_through_the_command(emulator: Emulator, runtime: Any, guild: Guild, admin: Member) -> None:
    general = emulator.general(guild)
    gold = emulator.create_role(guild, "Gold")
    for key, value in [
        ("every", "2d"),
        ("post_at", "06:45"),
        ("zone", "america/new_york"),
        ("active", "off"),
        ("role", "@Gold"),
        ("excluded", f"<#{general.id}>, general"),
        ("cooldown", "90s"),
    ]:
        answer = await emulator.invoke(admin, general, "config set", plugin="typed", key=key, value=value)
        assert (answer.content or "").startswith("Saved."), answer.content

    s = await runtime.settings.get(guild.id, "typed")
    bad = await emulator.invoke(admin, general, "config set", plugin="typed", key="every", value="30s")

    assert (s.every.days, str(s.post_at), str(s.zone), s.active, s.role, s.cooldown) == (
        2,
        "06:45:00",
        "America/New_York",
        False,
        gold.id,
        90,
    )
    assert s.excluded == [general.id, general.id]
    assert "from 1m to 7d" in (bad.content or "")


async def test_export_sends_a_json_file_of_the_overrides(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "config set", plugin="echo", key="repeat", value="2")

    answer = await emulator.invoke(admin, general, "config export")

    document = await service(runtime).export(guild.id)
    assert answer.message is not None
    [attachment] = answer.message["attachments"]
    assert attachment["size"] > len('{"plugins": {"echo": {"repeat": 2}}}')
    assert "1 changed setting(s) in 1 plugin(s)" in (answer.content or "")
    assert attachment["filename"] == f"omo-config-{guild.id}.json"
    assert document["plugins"] == {"echo": {"repeat": 2}}


async def test_import_applies_a_valid_document(emulator: Emulator, runtime: Any, guild: Guild, admin: Member) -> None:
    general = emulator.general(guild)
    text = json.dumps({"format": "omo-config", "version": 1, "plugins": {"echo": {"repeat": 3, "prefix": "$"}}})

    answer = await emulator.invoke(admin, general, "config import", text=text)

    assert "Imported 2 change(s)" in (answer.content or "")
    assert (await emulator.invoke(admin, general, "echo", text="z")).content == "$z$z$z"


async def test_import_with_one_bad_value_changes_nothing_and_lists_every_bad_value(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)
    text = json.dumps(
        {"plugins": {"echo": {"repeat": 3, "prefix": "way too long"}, "typed": {"limit": 500, "every": "soon"}}}
    )

    answer = await emulator.invoke(admin, general, "config import", text=text)
    broken = await emulator.invoke(admin, general, "config import", text="{not json")

    content = answer.content or ""
    assert "Nothing was changed: 3 values were refused." in content
    assert "`echo.prefix`" in content and "`typed.limit`" in content and "`typed.every`" in content
    assert "not valid JSON (line 1, column 2)" in (broken.content or "")
    assert await service(runtime).overrides(guild.id, "echo") == {}
    assert (await emulator.invoke(admin, general, "echo", text="z")).content == ">z"


async def test_a_plugin_whose_settings_cannot_be_edited_is_named_and_still_runs(
    emulator: Emulator, runtime_factory: Any, guild: Guild, admin: Member
) -> None:
    runtime = await runtime_factory({"config": {}, "echo": dict(ECHO), "odd": {"module": "tests.config.odd_plugin"}})
    general = emulator.general(guild)

    every = await emulator.invoke(admin, general, "config show")
    one = await emulator.invoke(admin, general, "config set", plugin="odd", key="name", value="x")

    assert "The settings of `odd` cannot be edited here: setting 'weights'" in every.embeds[0]["description"]
    assert "__**echo**__" in every.embeds[0]["description"]
    assert "cannot be edited here" in (one.content or "")
    assert (await runtime.settings.get(guild.id, "odd")).weights == {"a": 1}


async def test_import_needs_exactly_one_source_and_reports_a_file_it_cannot_download(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)

    neither = await emulator.invoke(admin, general, "config import")
    # A file described without content is not served (404), as an expired Discord attachment URL would not be.
    unreachable = await emulator.invoke(
        admin, general, "config import", file={"filename": "omo-config.json", "size": 120}
    )
    too_big = await emulator.invoke(admin, general, "config import", file={"filename": "huge.json", "size": 10_000_000})

    assert "Give either a `file`" in (neither.content or "")
    assert "Could not download the file (404)" in (unreachable.content or "")
    assert "The file is too large (10000000 bytes" in (too_big.content or "")
    assert await service(runtime).history(guild.id) == []
