"""Settings live next to the plugin: each card on the overview links to them, and one page holds every change."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.testing.emulator import Guild, Member
from plugins.config.service import Actor
from tests.config.helpers import ECHO, TYPED, service


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


def _card(page: str, plugin: str) -> str:
    return page.split(f'id="plugin-{plugin}"', 1)[1].split("</article>", 1)[0]


async def test_each_plugin_card_links_to_its_settings_while_config_is_on(
    runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    before = (await client.get(f"/guilds/{guild.id}/")).text
    await runtime.gate.set_enabled(guild.id, "config", False)
    without_config = (await client.get(f"/guilds/{guild.id}/")).text

    assert f'href="/guilds/{guild.id}/config/echo">Settings' in _card(before, "echo")
    assert f'href="/guilds/{guild.id}/config/typed">Settings' in _card(before, "typed")
    assert "/config/echo" not in _card(without_config, "echo")


async def test_history_page_lists_every_change_with_revert_and_cuts_long_values(
    runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    svc = service(runtime)
    ada = Actor(admin.user_id, "ada")
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ada)
    [tags] = await svc.set_values(guild.id, "typed", {"tags": ["x" * 150]}, ada)
    client = await web_login(runtime, admin)
    history = f"/guilds/{guild.id}/config/history"

    page = (await client.get(history)).text
    reverted = await client.form(f"/guilds/{guild.id}/config/history/{tags.entry_id}/revert", {"back": "history"})
    after = (await client.get(reverted.headers["location"])).text
    index = (await client.get(f"/guilds/{guild.id}/config/")).text

    assert "echo.repeat" in page and "typed.tags" in page
    assert "x" * 150 not in page and re.search(r"x{40,}…", page)
    assert reverted.status_code == 303 and reverted.headers["location"] == f"{history}?saved=reverted"
    assert "Reverted." in after and f"revert of #{tags.entry_id}" in after
    assert f'href="{history}"' in index
    assert await svc.overrides(guild.id, "typed") == {}


async def test_a_switched_off_plugin_page_links_to_the_server_overview(
    runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    await runtime.gate.set_enabled(guild.id, "echo", False)

    page = await client.get(f"/guilds/{guild.id}/echo/")

    assert page.status_code == 404 and "Switch it on from the server overview" in page.text
    assert f'href="/guilds/{guild.id}/#plugin-echo">Go to the server overview' in page.text
