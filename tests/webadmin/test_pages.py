"""Dashboard pages: picker, overview switches end to end through the emulator, operator page, errors, headers."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from core.logging import configure_logging
from core.testing.emulator import Emulator

from .conftest import People


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"echo": {"module": "tests.sample_plugins.echo"}, "apiplug": {"module": "tests.webadmin.apiplug"}}


async def test_switching_echo_off_on_the_overview_refuses_the_command_in_discord_and_on_again_serves_it(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    gid = people.guild_a.id
    channel = emulator.general(people.guild_a)

    off = await client.form(f"/guilds/{gid}/_plugins/echo", {"enabled": "0"})
    refused = await emulator.invoke(people.admin_a, channel, "echo", text="hi")
    page = await client.get(off.headers["location"])
    on = await client.form(f"/guilds/{gid}/_plugins/echo", {"enabled": "1"})
    served = await emulator.invoke(people.admin_a, channel, "echo", text="hi")

    assert off.status_code == 303 and off.headers["location"].startswith(f"/guilds/{gid}/?switched=echo&on=0")
    assert refused.ephemeral and "disabled in this server" in (refused.content or "")
    assert "echo is now off" in page.text and 'aria-checked="false"' in page.text
    assert on.status_code == 303
    assert served.content == ">hi"
    from core.models import GuildPluginState

    row = await GuildPluginState.get(guild_id=gid, plugin="echo")
    assert row.enabled and row.actor_id == people.admin_a


async def test_switch_form_rejects_values_other_than_0_and_1(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)

    answer = await client.form(f"/guilds/{people.guild_a.id}/_plugins/echo", {"enabled": "maybe"})
    unknown = await client.form(f"/guilds/{people.guild_a.id}/_plugins/ghost", {"enabled": "0"})

    assert answer.status_code == 400 and "enabled=1 or enabled=0" in answer.text
    assert unknown.status_code == 404
    assert runtime.gate.explicit(people.guild_a.id, "echo") is None


async def test_overview_shows_a_card_per_plugin_with_status_and_links_and_a_sidebar(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    gid = people.guild_a.id

    page = (await client.get(f"/guilds/{gid}/")).text

    assert page.count('<article class="card') == 2
    assert "0 items kept" in page
    assert f'href="/guilds/{gid}/apiplug/api/items"' in page
    sidebar = page.split('<aside class="sidebar"', 1)[1].split("</aside>", 1)[0]
    assert "Test Guild" in sidebar and ">Echo<" in sidebar and ">Items<" in sidebar


async def test_plugin_pages_extending_base_html_get_the_guild_sidebar_and_csrf_token(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)

    page = (await client.get(f"/guilds/{people.guild_a.id}/apiplug/")).text

    assert "<h1>Items</h1>" in page
    assert '<aside class="sidebar"' in page and 'aria-current="page">Items</a>' in page
    assert f'name="csrf_token" value="{client.csrf_token}"' in page


async def test_a_broken_status_hook_does_not_break_the_overview(
    runtime: Any, people: People, web_login: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(runtime.host.records["apiplug"].loaded.module, "FAIL_STATUS", True)
    client = await web_login(runtime, people.admin_a)

    page = await client.get(f"/guilds/{people.guild_a.id}/")

    assert page.status_code == 200 and "Status unavailable" in page.text
    assert 'id="plugin-echo"' in page.text


async def test_picker_empty_state_invites_when_the_bot_is_in_none_of_your_servers(
    runtime: Any, emulator: Emulator, web_login: Any
) -> None:
    loner = emulator.create_user("lonely")

    page = await (await web_login(runtime, loner.id)).get("/guilds")

    assert "The bot is in none of your servers" in page.text


async def test_operator_page_shows_plugins_health_and_plugins_toml_state(
    runtime: Any, people: People, web_login: Any
) -> None:
    operator = await web_login(runtime, people.operator)

    page = (await operator.get("/operator")).text
    runtime.plugins_file_error = "plugins.toml:3: expected a table"
    broken = (await operator.get("/operator")).text

    assert 'id="plugin-echo"' in page and 'id="plugin-apiplug"' in page
    assert "Shard 0" in page and "Database" in page and "is valid" in page
    assert "plugins.toml was rejected" in broken and "plugins.toml:3: expected a table" in broken


async def test_operator_page_warns_that_an_empty_plugins_toml_turns_every_plugin_off(
    runtime_factory: Any, people: People, web_login: Any
) -> None:
    runtime = await runtime_factory({}, owners=[people.operator])
    operator = await web_login(runtime, people.operator)

    page = (await operator.get("/operator")).text

    assert "is valid" in page and "Every plugin is off." in page
    assert "an empty file is valid and disables them all" in page


async def test_reload_button_reloads_and_the_page_shows_the_report(
    runtime: Any, people: People, web_login: Any
) -> None:
    operator = await web_login(runtime, people.operator)

    answer = await operator.form("/operator/plugins/echo/reload")
    page = (await operator.get("/operator")).text

    assert answer.status_code == 303 and answer.headers["location"] == "/operator#plugin-echo"
    assert runtime.host.records["echo"].reloads == 1
    assert re.search(r"Reloaded 1\.0 → 1\.0\s+in [0-9.]+ s", page)


async def test_every_response_carries_the_security_headers(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)
    pages = [
        await client.get("/"),
        await client.get(f"/guilds/{people.guild_a.id}/"),
        await client.get("/nowhere"),
        await client.get("/api/docs"),
    ]
    others = [
        await client.get("/api/v1/me"),
        await client.get(f"/api/v1/guilds/{people.guild_b.id}/plugins"),  # a 403 in JSON
        await client.get("/healthz"),
        await client.get("/static/omo.css"),
    ]

    for answer in pages:
        assert answer.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "unsafe-inline" not in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cross-origin-opener-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"
        assert "server" not in answer.headers  # no software banner
    for answer in others:  # not documents: nothing may load, frame or sniff them
        assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in answer.headers  # plain http here
    assert others[0].headers["cache-control"] == "no-store" and others[1].status_code == 403
    assert others[0].headers["ratelimit-limit"] == "600"
    assert int(others[0].headers["ratelimit-remaining"]) < 600


async def test_metrics_count_responses_by_status(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)
    await client.get("/nowhere")
    await client.get("/nowhere")

    metrics = (await client.get("/metrics")).text

    found = re.search(r'omo_http_requests_total\{status="404"\} ([0-9.]+)', metrics)
    assert found and float(found.group(1)) == 2.0


async def test_pages_have_no_inline_scripts_or_styles(runtime: Any, people: People, web_login: Any) -> None:
    operator = await web_login(runtime, people.operator)
    urls = ["/", "/guilds", f"/guilds/{people.guild_a.id}/", "/operator", "/api/docs", "/nowhere"]

    for url in urls:
        html = (await operator.get(url)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html and "<style" not in html, url
        assert re.search(r" on[a-z]+=", html) is None, url


async def test_error_pages_are_html_for_browsers_and_json_for_the_api(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        page = await http.get("/nowhere")
        api = await http.get("/api/v1/nowhere")
        method = await http.delete("/api/v1/me")

    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert api.status_code == 404 and api.json()["error"] == "not found"
    assert method.status_code == 405 and method.json()["error"] == "method not allowed"


async def test_a_crash_in_a_view_is_a_500_page_without_the_traceback(
    runtime: Any, people: People, web_login: Any, monkeypatch: Any
) -> None:
    from webadmin import dashboard

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(dashboard, "plugin_cards", explode)
    client = await web_login(runtime, people.admin_a)

    page = await client.get(f"/guilds/{people.guild_a.id}/")
    api = await client.get(f"/api/v1/guilds/{people.guild_a.id}/plugins")

    assert page.status_code == 500 and "Something went wrong" in page.text and "secret internals" not in page.text
    assert api.status_code == 500 and api.json()["error"] == "internal error"


async def test_start_page_offers_login_or_the_servers(runtime: Any, people: People, web_login: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        anonymous = (await http.get("/")).text
    logged_in = (await (await web_login(runtime, people.admin_a)).get("/")).text

    assert 'href="/auth/login"' in anonymous
    assert 'href="/guilds"' in logged_in and "Log out" in logged_in


async def test_log_lines_of_a_request_name_its_route_method_and_user(
    runtime: Any, people: People, web_login: Any, capsys: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    configure_logging("json", "INFO")
    try:
        answer = await client.get(f"/guilds/{people.guild_b.id}/")
    finally:
        configure_logging("console", "INFO")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    refused = [line for line in lines if line["event"] == "guild access refused"]
    assert answer.status_code == 403 and len(refused) == 1
    assert refused[0]["route"] == f"/guilds/{people.guild_b.id}/" and refused[0]["method"] == "GET"
    assert refused[0]["user_id"] == people.admin_a
