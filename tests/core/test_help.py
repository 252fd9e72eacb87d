"""``/help`` lists only what the asking user may run: member, server admin and operator see different lists."""

from __future__ import annotations

from typing import Any

from core.testing.emulator import Emulator
from core.testing.emulator import permissions as perms

PLUGINS = {"echo": {"module": "tests.sample_plugins.echo"}, "config": {"module": "plugins.config"}}


def _listed(result: Any) -> set[str]:
    lines = result.embeds[0]["description"].splitlines()
    return {line.split("`")[1] for line in lines if line.startswith("`")}


async def test_help_shows_each_user_only_the_commands_they_may_run(
    emulator: Emulator, guild: Any, runtime_factory: Any
) -> None:
    member = emulator.create_member(guild, "alice")
    managers = emulator.create_role(guild, "Managers", perms.MANAGE_GUILD)
    admin = emulator.create_member(guild, "mona", roles=[managers])
    operator = emulator.create_member(guild, "otto")
    await runtime_factory(PLUGINS, owners=[operator.user_id])
    general = emulator.general(guild)

    as_member = _listed(await emulator.invoke(member, general, "help"))
    as_admin = _listed(await emulator.invoke(admin, general, "help"))
    as_operator = _listed(await emulator.invoke(operator, general, "help"))

    assert {"/help", "/echo"} <= as_member
    assert not {c for c in as_member if c.startswith(("/plugins", "/config set"))}, as_member
    assert {"/plugins list", "/plugins enable", "/plugins disable", "/config set"} <= as_admin
    assert "/plugins reload" not in as_admin
    assert {"/plugins list", "/plugins reload"} <= as_operator
    assert "/plugins enable" not in as_operator  # switching needs Manage Server, even for an operator
