"""Settings pages through a real login (OAuth2 round trip in the emulator), with the bot in the same process."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from tests.config.helpers import ECHO, TYPED, service


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


def _field(html: str, name: str) -> str:
    """The markup of one field block of the settings form."""
    match = re.search(
        rf'<div class="cfg-field[^"]*">(?:(?!<div class="cfg-field).)*?name="{name}"(?:(?!<div class="cfg-field).)*',
        html,
        re.S,
    )
    assert match, f"no field {name!r} on the page"
    return match.group(0)


async def test_a_value_set_by_command_is_shown_on_the_page(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    await emulator.invoke(admin, emulator.general(guild), "config set", plugin="echo", key="repeat", value="4")
    client = await web_login(runtime, admin)

    page = await client.get(f"/guilds/{guild.id}/config/echo")
    index = await client.get(f"/guilds/{guild.id}/config/")

    repeat = _field(page.text, "repeat")
    assert page.status_code == 200
    assert 'value="4"' in repeat and 'min="1"' in repeat and 'max="5"' in repeat and 'type="number"' in repeat
    assert "changed in this server" in repeat
    assert "ada" in page.text and "<code>echo.repeat</code>" in page.text  # history row: who and what
    assert f'href="/guilds/{guild.id}/config/typed"' in index.text and "1 changed in this server" in index.text


async def test_a_value_saved_in_the_form_is_seen_by_config_show_and_the_echo_command(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    saved = await client.form(f"/guilds/{guild.id}/config/echo", {"prefix": "+", "repeat": "2"})
    shown = await emulator.invoke(admin, emulator.general(guild), "config show", plugin="echo")
    echo = await emulator.invoke(admin, emulator.general(guild), "echo", text="w")
    after = await client.get(saved.headers["location"])

    assert saved.status_code == 303
    assert "**prefix** = `+` *(changed here)*" in shown.embeds[0]["description"]
    assert echo.content == "+w+w"
    assert "Saved." in after.text
    assert [e.source for e in await service(runtime).history(guild.id)] == ["web", "web"]


async def test_submitting_the_form_unchanged_stores_no_override(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    saved = await client.form(
        f"/guilds/{guild.id}/config/typed",
        {
            "greeting": "hello",
            "limit": "10",
            "ratio": "0.5",
            "active": "yes",
            "colour": "red",
            "mode": "quiet",
            "post_at": "07:30",
            "every": "5m",
            "cooldown": "1m",
            "zone": "UTC",
            "digest_time": "08:00",
            "channel": "none",
            "role": "none",
            "excluded__present": "1",
            "tags": "",
        },
    )

    assert saved.headers["location"].endswith("?saved=0")
    assert await service(runtime).overrides(guild.id, "typed") == {}


async def test_an_invalid_value_shows_an_inline_error_keeps_the_entered_values_and_saves_nothing(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    page = await client.form(f"/guilds/{guild.id}/config/echo", {"prefix": "$", "repeat": "12"})

    repeat = _field(page.text, "repeat")
    assert page.status_code == 400
    assert 'aria-invalid="true"' in repeat and 'value="12"' in repeat
    assert 'class="cfg-error" id="f-repeat-error"' in repeat and "a whole number from 1 to 5" in repeat
    assert 'value="$"' in _field(page.text, "prefix")  # what was typed is kept
    assert "Nothing was saved" in page.text
    assert await service(runtime).overrides(guild.id, "echo") == {}


async def test_channel_and_role_pickers_list_the_guilds_real_channels_and_roles(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    news = emulator.create_channel(guild, "news")
    gold = emulator.create_role(guild, "Gold")
    client = await web_login(runtime, admin)
    page = await client.get(f"/guilds/{guild.id}/config/typed")

    saved = await client.form(
        f"/guilds/{guild.id}/config/typed",
        {"channel": str(news.id), "role": str(gold.id), "excluded": [str(news.id)], "active": "yes"},
    )
    settings = await runtime.settings.get(guild.id, "typed")

    assert f'<option value="{news.id}">#news</option>' in _field(page.text, "channel")
    assert f'<option value="{gold.id}">@Gold</option>' in _field(page.text, "role")
    assert "multiple" in _field(page.text, "excluded")
    assert 'type="time"' in _field(page.text, "post_at") and 'type="checkbox"' in _field(page.text, "active")
    assert saved.status_code == 303
    assert (settings.channel, settings.role, settings.excluded) == (news.id, gold.id, [news.id])


async def test_reset_button_puts_the_default_back(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    await service(runtime).set_values(guild.id, "echo", {"repeat": 3}, _actor(admin))
    client = await web_login(runtime, admin)

    reset = await client.form(f"/guilds/{guild.id}/config/echo", {"reset": "repeat", "repeat": "5"})

    assert reset.headers["location"].endswith("?saved=reset")
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 1


async def test_revert_button_restores_the_old_value(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    await service(runtime).set_values(guild.id, "echo", {"repeat": 2}, _actor(admin))
    [change] = await service(runtime).set_values(guild.id, "echo", {"repeat": 5}, _actor(admin))
    client = await web_login(runtime, admin)
    page = await client.get(f"/guilds/{guild.id}/config/echo")

    without_token = await client.http.post(
        f"/guilds/{guild.id}/config/history/{change.entry_id}/revert", data={"back": "echo"}
    )
    reverted = await client.form(f"/guilds/{guild.id}/config/history/{change.entry_id}/revert", {"back": "echo"})
    echo = await emulator.invoke(admin, emulator.general(guild), "echo", text="r")

    assert f'action="/guilds/{guild.id}/config/history/{change.entry_id}/revert"' in page.text
    assert without_token.status_code == 403
    assert reverted.status_code == 303 and reverted.headers["location"].endswith("/config/echo?saved=reverted")
    assert echo.content == ">r>r"


async def test_a_member_without_manage_server_gets_no_settings_page(
    emulator: Emulator, runtime: Any, guild: Guild, member: Member, web_login: Any
) -> None:
    client = await web_login(runtime, member)

    page = await client.get(f"/guilds/{guild.id}/config/echo")
    post = await client.form(f"/guilds/{guild.id}/config/echo", {"repeat": "3"})

    assert page.status_code == 403 and post.status_code == 403
    assert await service(runtime).overrides(guild.id, "echo") == {}


async def test_unknown_plugin_page_is_404(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    page = await client.get(f"/guilds/{guild.id}/config/nothing")

    assert page.status_code == 404 and "no running plugin nothing" in page.text


async def test_disabling_a_plugin_by_command_hides_its_pages_in_that_guild_only(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    other = emulator.create_guild("Other")
    role = emulator.create_role(other, "Admins", permissions=1 << 5)
    emulator.create_member(other, roles=[role], user=emulator.user(admin.user_id))
    await emulator.invoke(admin, emulator.general(guild), "plugins disable", plugin="echo")
    client = await web_login(runtime, admin)

    echo_here = await client.get(f"/guilds/{guild.id}/echo/")
    echo_there = await client.get(f"/guilds/{other.id}/echo/")
    settings_page = await client.get(f"/guilds/{guild.id}/config/echo")
    await emulator.invoke(admin, emulator.general(guild), "plugins enable", plugin="echo")
    echo_back = await client.get(f"/guilds/{guild.id}/echo/")

    assert echo_here.status_code == 404
    assert echo_there.status_code == 200 and f"echo page for {other.id}" in echo_there.text
    assert settings_page.status_code == 200
    assert "switched off in this server; its settings are kept" in settings_page.text
    assert echo_back.status_code == 200


def _actor(member: Member) -> Any:
    from plugins.config.service import Actor

    return Actor(member.user_id, "ada")


async def test_a_plugin_whose_settings_cannot_be_edited_is_named_on_the_pages(
    emulator: Emulator, runtime_factory: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    runtime = await runtime_factory({"config": {}, "odd": {"module": "tests.config.odd_plugin"}})
    client = await web_login(runtime, admin)

    index = await client.get(f"/guilds/{guild.id}/config/")
    page = await client.get(f"/guilds/{guild.id}/config/odd")
    api = await client.get(f"/api/v1/guilds/{guild.id}/config/settings/odd")

    assert index.status_code == 200 and "The settings of odd cannot be edited here" in index.text
    assert page.status_code == 409 and "setting &#39;weights&#39;" in page.text
    assert api.status_code == 409 and api.json()["error"] == "settings not editable"
