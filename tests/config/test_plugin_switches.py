"""Per-guild plugin switches from Discord (core's ``/plugins``), end to end, and the config plugin's own
switch in plugins.toml."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from core.testing.pytest_plugin import eventually, write_plugins_toml
from plugins.config.service import Actor
from tests.config import typed_plugin
from tests.config.helpers import ECHO, TYPED, service


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


async def test_guild_admin_disables_a_plugin_in_one_guild_only_and_enables_it_again(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    other = emulator.create_guild("Other")
    await eventually(lambda: runtime.bot.get_guild(other.id), what="the bot seeing the new guild")
    bob = emulator.create_member(other, "bob")
    here, there = emulator.general(guild), emulator.general(other)
    cog = runtime.bot.get_cog("EchoCog")

    off = await emulator.invoke(admin, here, "plugins disable", plugin="echo")
    refused = await emulator.invoke(admin, here, "echo", text="a")
    served = await emulator.invoke(bob, there, "echo", text="b")
    await emulator.send_message(admin, here, "heard in A?")
    await emulator.send_message(bob, there, "heard in B")
    await eventually(lambda: "heard in B" in cog.heard, what="the later message heard")  # events come in order

    assert off.ephemeral and off.content == "**echo** is now disabled in this server."
    assert "disabled in this server" in (refused.content or "")
    assert served.content == ">b"
    assert cog.heard == ["heard in B"]

    on = await emulator.invoke(admin, here, "plugins enable", plugin="echo")
    back = await emulator.invoke(admin, here, "echo", text="c")

    assert on.content == "**echo** is now enabled in this server."
    assert back.content == ">c"


async def test_per_guild_jobs_stop_in_the_disabled_guild_only(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    other = emulator.create_guild("Other")
    await eventually(lambda: len(runtime.bot.guilds) == 2, what="the bot seeing the new guild")

    await emulator.invoke(admin, emulator.general(guild), "plugins disable", plugin="typed")
    typed_plugin.job_runs.clear()
    await eventually(lambda: typed_plugin.job_runs.count(other.id) >= 3, what="three runs in the other guild")

    assert guild.id not in typed_plugin.job_runs
    await emulator.invoke(admin, emulator.general(guild), "plugins enable", plugin="typed")
    await eventually(lambda: guild.id in typed_plugin.job_runs, what="a run in the guild enabled again")


async def test_a_member_without_manage_server_may_not_switch_plugins(
    emulator: Emulator, runtime: Any, guild: Guild, member: Member
) -> None:
    answer = await emulator.invoke(member, emulator.general(guild), "plugins disable", plugin="echo")

    assert answer.content == "You need the Manage Server permission to switch plugins."
    assert runtime.gate.is_enabled(guild.id, "echo")


async def test_an_unknown_plugin_is_refused(emulator: Emulator, runtime: Any, guild: Guild, admin: Member) -> None:
    answer = await emulator.invoke(admin, emulator.general(guild), "plugins disable", plugin="nothing")

    assert "There is no running plugin named `nothing`" in (answer.content or "")
    assert runtime.gate.explicit(guild.id, "nothing") is None


async def test_plugins_list_shows_the_switches_of_this_guild(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    await emulator.invoke(admin, emulator.general(guild), "plugins disable", plugin="typed")

    answer = await emulator.invoke(admin, emulator.general(guild), "plugins list")

    assert "**echo** 1.0 — on here" in (answer.content or "")
    assert "**typed** 1.0 — off here" in (answer.content or "")


async def test_disabling_config_in_a_guild_refuses_config_commands_but_keeps_the_values(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    here = emulator.general(guild)
    await emulator.invoke(admin, here, "config set", plugin="echo", key="repeat", value="2")

    await emulator.invoke(admin, here, "plugins disable", plugin="config")
    refused = await emulator.invoke(admin, here, "config show")
    echo = await emulator.invoke(admin, here, "echo", text="k")

    assert "The **config** plugin is disabled in this server" in (refused.content or "")
    assert echo.content == ">k>k"


async def test_with_config_disabled_in_plugins_toml_every_plugin_runs_on_its_defaults(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    here = emulator.general(guild)
    await service(runtime).set_values(guild.id, "echo", {"repeat": 3, "prefix": "#"}, Actor(admin.user_id))
    assert (await emulator.invoke(admin, here, "echo", text="d")).content == "#d#d#d"

    write_plugins_toml(
        runtime.plugins_file_path,
        {"config": {"enabled": False}, "echo": {**ECHO, "settings": {"repeat": 2}}, "typed": TYPED},
    )
    assert await runtime.apply_plugins_file()
    answer = await emulator.invoke(admin, here, "echo", text="d")
    typed = await runtime.settings.get(guild.id, "typed")

    assert "config" not in runtime.host.enabled_names()
    assert answer.content == ">d>d"  # plugins.toml's repeat, the model's prefix: the stored values are not used
    assert typed.limit == 10
