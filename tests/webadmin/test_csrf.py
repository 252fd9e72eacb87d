"""CSRF: every state change made with the session cookie needs the session's token; bearer scripts are exempt."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import People, bearer, operator_token


async def test_switch_form_without_csrf_token_is_refused_and_changes_nothing(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    url = f"/guilds/{people.guild_a.id}/_plugins/echo"

    missing = await client.http.post(url, data={"enabled": "0"})
    wrong = await client.http.post(url, data={"enabled": "0", "csrf_token": "0" * 64})

    assert missing.status_code == 403 and "expired or did not come from this site" in missing.text
    assert wrong.status_code == 403
    assert runtime.gate.is_enabled(people.guild_a.id, "echo")


async def test_api_write_with_cookie_but_without_csrf_header_is_refused(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    url = f"/api/v1/guilds/{people.guild_a.id}/plugins/echo"

    refused = await client.http.put(url, json={"enabled": False})
    accepted = await client.json("PUT", url, {"enabled": False})

    assert refused.status_code == 403 and refused.json()["error"] == "csrf token missing or invalid"
    assert accepted.status_code == 200 and accepted.json()["enabled"] is False
    assert not runtime.gate.is_enabled(people.guild_a.id, "echo")


async def test_the_token_of_one_session_is_worthless_in_another(runtime: Any, people: People, web_login: Any) -> None:
    alice = await web_login(runtime, people.admin_a)
    other_alice = await web_login(runtime, people.admin_a)

    answer = await alice.http.post(
        f"/guilds/{people.guild_a.id}/_plugins/echo", data={"enabled": "0", "csrf_token": other_alice.csrf_token}
    )

    assert alice.csrf_token != other_alice.csrf_token
    assert answer.status_code == 403


async def test_the_token_is_on_every_page_as_meta_and_in_forms(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)

    page = (await client.get(f"/guilds/{people.guild_a.id}/")).text

    assert f'<meta name="csrf-token" content="{client.csrf_token}">' in page
    assert f'<input type="hidden" name="csrf_token" value="{client.csrf_token}">' in page


async def test_bearer_token_requests_without_cookie_need_no_csrf_token(
    runtime: Any, people: People, web_login: Any
) -> None:
    secret = await operator_token(runtime, people, web_login)

    async with bearer(runtime, secret) as script:
        answer = await script.put(f"/api/v1/guilds/{people.guild_a.id}/plugins/echo", json={"enabled": False})

    assert answer.status_code == 200
    assert not runtime.gate.is_enabled(people.guild_a.id, "echo")


async def test_anonymous_post_is_refused_as_not_logged_in(runtime: Any, people: People) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        answer = await http.post(f"/guilds/{people.guild_a.id}/_plugins/echo", data={"enabled": "0"})

    assert answer.status_code == 401
    assert runtime.gate.is_enabled(people.guild_a.id, "echo")
