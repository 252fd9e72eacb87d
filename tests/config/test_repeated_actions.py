"""Repeating an action does not claim a change: a second /plugins disable, an already reverted history row."""

from __future__ import annotations

from typing import Any

from core.testing.emulator import Emulator, Guild, Member
from plugins.config.service import Actor
from tests.config.helpers import service


async def test_switching_a_plugin_off_twice_says_nothing_changed(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    general = emulator.general(guild)

    first = await emulator.invoke(admin, general, "plugins disable", plugin="echo")
    second = await emulator.invoke(admin, general, "plugins disable", plugin="echo")
    back_on = await emulator.invoke(admin, general, "plugins enable", plugin="echo")

    assert first.content == "**echo** is now disabled in this server."
    assert second.content == "**echo** is already disabled in this server; nothing changed."
    assert back_on.content == "**echo** is now enabled in this server."


async def test_a_reverted_change_has_no_revert_button(
    runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    actor = Actor(admin.user_id, "ada")
    [change] = await service(runtime).set_values(guild.id, "echo", {"repeat": 5}, actor)
    client = await web_login(runtime, admin)
    revert_url = f"/guilds/{guild.id}/config/history/{change.entry_id}/revert"

    before = (await client.get(f"/guilds/{guild.id}/config/echo")).text
    await client.form(revert_url, {"back": "echo"})
    after = (await client.get(f"/guilds/{guild.id}/config/echo")).text
    overview = (await client.get(f"/guilds/{guild.id}/config/")).text

    assert f'action="{revert_url}"' in before
    assert f'action="{revert_url}"' not in after and f'action="{revert_url}"' not in overview
    assert f"reverted by #{change.entry_id + 1}" in after  # the revert itself can still be reverted
