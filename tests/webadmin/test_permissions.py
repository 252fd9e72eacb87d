"""Server-side permission checks on every guild route, page and API alike, by direct requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually

from .conftest import People


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"echo": {"module": "tests.sample_plugins.echo"}, "apiplug": {"module": "tests.webadmin.apiplug"}}


def guild_urls(guild_id: int) -> list[tuple[str, str]]:
    """Every GET route that belongs to one guild."""
    return [
        ("GET", f"/guilds/{guild_id}/"),
        ("GET", f"/guilds/{guild_id}/echo/"),
        ("GET", f"/guilds/{guild_id}/apiplug/api/items"),
        ("GET", f"/api/v1/guilds/{guild_id}/plugins"),
        ("GET", f"/api/v1/guilds/{guild_id}/apiplug/items"),
    ]


async def test_anonymous_visitors_get_401_on_every_guild_page_and_api(runtime: Any, people: People) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        answers = {url: await http.request(method, url) for method, url in guild_urls(people.guild_a.id)}
        picker = await http.get("/guilds")
        me = await http.get("/api/v1/me")

    assert {url: r.status_code for url, r in answers.items()} == {url: 401 for url in answers}
    assert picker.status_code == 401 and 'href="/auth/login?next=' in picker.text
    assert me.status_code == 401 and me.json() == {
        "error": "not logged in",
        "detail": "Log in with Discord to continue.",
    }


async def test_admin_of_guild_a_gets_403_on_every_page_and_api_of_guild_b(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)

    own = {url: (await client.http.request(m, url)).status_code for m, url in guild_urls(people.guild_a.id)}
    other = {url: (await client.http.request(m, url)).status_code for m, url in guild_urls(people.guild_b.id)}
    switch = await client.form(f"/guilds/{people.guild_b.id}/_plugins/echo", {"enabled": "0"})
    api_switch = await client.json("PUT", f"/api/v1/guilds/{people.guild_b.id}/plugins/echo", {"enabled": False})

    assert set(own.values()) == {200}
    assert other == {url: 403 for url in other}
    assert switch.status_code == 403 and api_switch.status_code == 403
    assert api_switch.json()["error"] == "not a server admin"
    assert runtime.gate.is_enabled(people.guild_b.id, "echo")


async def test_a_member_without_manage_server_gets_403_in_their_own_guild(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.member_a)

    answers = {url: (await client.http.request(m, url)).status_code for m, url in guild_urls(people.guild_a.id)}
    picker = await client.get("/guilds")

    assert answers == {url: 403 for url in answers}
    assert picker.status_code == 200 and "The bot is in none of your servers" in picker.text


async def test_administrator_permission_is_enough(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_b)

    answers = {url: (await client.http.request(m, url)).status_code for m, url in guild_urls(people.guild_b.id)}

    assert set(answers.values()) == {200}


async def test_guild_owner_may_manage_without_any_role(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    owner = people.guild_a.owner_id
    client = await web_login(runtime, owner)

    answer = await client.get(f"/guilds/{people.guild_a.id}/")

    assert answer.status_code == 200


async def test_operator_pages_and_api_refuse_non_operators(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)

    page = await client.get("/operator")
    api = await client.get("/api/v1/operator/plugins")
    reload = await client.form("/operator/plugins/echo/reload")
    api_reload = await client.json("POST", "/api/v1/operator/plugins/echo/reload")
    token = await client.form("/operator/tokens", {"name": "sneaky"})

    assert [r.status_code for r in (page, api, reload, api_reload, token)] == [403] * 5
    assert runtime.host.records["echo"].reloads == 0


async def test_operators_see_and_manage_every_guild(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.operator)

    picker = await client.get("/guilds")
    answers = {url: (await client.http.request(m, url)).status_code for m, url in guild_urls(people.guild_b.id)}
    operator_page = await client.get("/operator")

    assert "Other servers" in picker.text and "Other Guild" in picker.text
    assert set(answers.values()) == {200}
    assert operator_page.status_code == 200


async def test_a_guild_the_bot_is_not_in_is_offered_as_an_invite(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    foreign = emulator.create_guild("No Bot Here", owner=emulator.world.users[people.admin_a])
    await eventually(lambda: runtime.bot.get_guild(foreign.id) is not None, what="the bot seeing the guild")
    await runtime.bot.get_guild(foreign.id).leave()
    await eventually(lambda: runtime.bot.get_guild(foreign.id) is None, what="the bot leaving the guild")
    client = await web_login(runtime, people.admin_a)

    picker = await client.get("/guilds")
    api = (await client.get("/api/v1/guilds")).json()
    overview = await client.get(f"/guilds/{foreign.id}/")

    invite = next(g for g in api["invite"] if g["id"] == str(foreign.id))
    assert "No Bot Here" in picker.text and "Invite" in picker.text
    assert invite["invite_url"].startswith("https://discord.com/oauth2/authorize?client_id=")
    assert (
        "scope=bot+applications.commands" in invite["invite_url"] and f"guild_id={foreign.id}" in invite["invite_url"]
    )
    assert {g["id"] for g in api["manage"]} == {str(people.guild_a.id)}
    assert overview.status_code == 404


async def test_permissions_are_refreshed_from_discord_when_the_cached_list_is_stale(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    from core.models import WebSession

    client = await web_login(runtime, people.member_a)
    before = await client.get(f"/guilds/{people.guild_a.id}/")
    boss = emulator.create_role(people.guild_a, "Boss", permissions=1 << 5)
    await emulator.add_role(people.guild_a, people.member_a, boss)
    await WebSession.filter(user_id=people.member_a).update(guilds_fetched_at=None)
    runtime.app.extensions["omo_row_cache"].clear()

    after = await client.get(f"/guilds/{people.guild_a.id}/")

    assert before.status_code == 403 and after.status_code == 200


async def test_a_plugin_page_of_a_switched_off_plugin_is_404_for_admins(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    await runtime.gate.set_enabled(people.guild_a.id, "echo", False)

    page = await client.get(f"/guilds/{people.guild_a.id}/echo/")

    assert page.status_code == 404 and "switched off" in page.text
