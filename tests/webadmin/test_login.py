"""Login with Discord OAuth2 through the emulator: state checks, errors, cookies, logout, restarts."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from core.models import WebSession
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import web_login_client

from .conftest import ECHO, People


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def _start(http: httpx.AsyncClient) -> dict[str, str]:
    start = await http.get("/auth/login")
    assert start.status_code == 302
    return _query(start.headers["location"])


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_login_sends_the_browser_to_the_emulator_authorize_page_with_state_and_scopes(
    runtime: Any, emulator: Emulator
) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        start = await http.get("/auth/login")

    location = start.headers["location"]
    query = _query(location)
    assert location.startswith(f"{emulator.base_url}/oauth2/authorize?")
    assert query["client_id"] == str(emulator.application_id)
    assert query["scope"] == "identify guilds"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == f"{runtime.web_url}/auth/callback"
    assert len(query["state"]) >= 20


async def test_login_round_trip_creates_a_server_side_session_and_only_its_id_in_the_cookie(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)

    session = await WebSession.get(user_id=people.admin_a)
    cookie = client.cookies["omo_session"]
    me = (await client.get("/api/v1/me")).json()
    assert me["id"] == str(people.admin_a) and me["username"] == "alice" and me["via"] == "session"
    assert session.access_token not in cookie and session.refresh_token not in cookie
    assert session.access_token not in (await client.get("/guilds")).text
    assert {g["id"] for g in session.guilds} >= {str(people.guild_a.id), str(people.guild_b.id)}


async def test_session_cookie_is_httponly_samesite_lax_and_not_secure_over_plain_http(
    runtime: Any, emulator: Emulator, people: People
) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
        back = emulator.approve_oauth(
            people.admin_a, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
        )
        done = await http.get(_path(back))

    set_cookie = [v for k, v in done.headers.multi_items() if k.lower() == "set-cookie" and "omo_session=" in v]
    assert len(set_cookie) == 1
    flags = set_cookie[0].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags


async def test_session_cookie_is_secure_behind_a_trusted_https_proxy(
    runtime_factory: Any, emulator: Emulator, guild: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OMO_TRUSTED_PROXIES", "127.0.0.1/32")
    runtime = await runtime_factory(ECHO)
    user = emulator.create_member(guild, "dora")
    async with httpx.AsyncClient(base_url=runtime.web_url, headers={"X-Forwarded-Proto": "https"}) as http:
        start = await http.get("/auth/login")
        state_cookie = start.headers["set-cookie"]
        query = _query(start.headers["location"])
        back = emulator.approve_oauth(
            user.user_id, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
        )
        # httpx keeps Secure cookies for https only: hand the state cookie back as the browser would
        done = await http.get(_path(back), headers={"Cookie": state_cookie.split(";")[0]})

    assert "secure" in state_cookie.lower()
    set_cookie = done.headers.get_list("set-cookie")
    session_cookie = next(v for v in set_cookie if v.startswith("omo_session="))
    assert "secure" in session_cookie.lower()
    assert done.headers["strict-transport-security"].startswith("max-age=")


async def test_forwarded_proto_from_an_untrusted_client_does_not_mark_cookies_secure(
    runtime: Any, emulator: Emulator, people: People
) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url, headers={"X-Forwarded-Proto": "https"}) as http:
        start = await http.get("/auth/login")

    assert "secure" not in start.headers["set-cookie"].lower()


async def test_callback_with_a_wrong_state_shows_an_error_page_and_creates_no_session(
    runtime: Any, emulator: Emulator, people: People
) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
        back = emulator.approve_oauth(
            people.admin_a, query["client_id"], query["redirect_uri"], query["scope"], "forged-state-value-1234567"
        )
        answer = await http.get(_path(back))

    assert answer.status_code == 400
    assert "Login link expired" in answer.text and 'href="/auth/login"' in answer.text
    assert "omo_session" not in answer.headers.get("set-cookie", "")
    assert await WebSession.filter(user_id=people.admin_a).count() == 0


async def test_callback_without_the_state_cookie_is_refused(runtime: Any, emulator: Emulator, people: People) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
    back = emulator.approve_oauth(
        people.admin_a, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
    )
    async with httpx.AsyncClient(base_url=runtime.web_url) as stranger:  # another browser: no state cookie
        answer = await stranger.get(_path(back))

    assert answer.status_code == 400
    assert await WebSession.filter(user_id=people.admin_a).count() == 0


async def test_a_state_is_single_use(runtime: Any, emulator: Emulator, people: People) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
        state_cookie = http.cookies.get("omo_oauth_state")
        first = emulator.approve_oauth(
            people.admin_a, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
        )
        ok = await http.get(_path(first))
    second = emulator.approve_oauth(
        people.member_a, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
    )
    async with httpx.AsyncClient(base_url=runtime.web_url, cookies={"omo_oauth_state": state_cookie}) as replay:
        replayed = await replay.get(_path(second))

    assert ok.status_code == 302
    assert replayed.status_code == 400 and "already used" in replayed.text
    assert await WebSession.filter(user_id=people.member_a).count() == 0


async def test_denied_consent_shows_a_clear_page(runtime: Any, emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
        form = {**query, "action": "cancel"}
        async with httpx.AsyncClient() as browser:
            denied = await browser.post(f"{emulator.base_url}/oauth2/authorize", data=form)
        answer = await http.get(_path(denied.headers["location"]))

    assert answer.status_code == 400
    assert "Login cancelled" in answer.text
    assert await WebSession.all().count() == 0


async def test_a_rejected_code_shows_an_error_page_without_secrets_in_it(
    runtime: Any, emulator: Emulator, people: People
) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
        answer = await http.get(f"/auth/callback?code=not-a-real-code&state={query['state']}")

    assert answer.status_code == 502
    assert "Discord refused the login" in answer.text
    assert emulator.client_secret not in answer.text
    assert await WebSession.all().count() == 0


async def test_discord_down_during_login_gives_a_503_page(runtime: Any, emulator: Emulator, people: People) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        query = await _start(http)
        back = emulator.approve_oauth(
            people.admin_a, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
        )
        runtime.options.discord_api = "http://127.0.0.1:9"  # nothing listens there
        answer = await http.get(_path(back))

    assert answer.status_code == 503
    assert "could not be reached" in answer.text
    assert await WebSession.all().count() == 0


async def test_login_without_client_credentials_explains_what_to_set(runtime: Any) -> None:
    import dataclasses

    runtime.env = dataclasses.replace(runtime.env, client_secret=None)
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        answer = await http.get("/auth/login")

    assert answer.status_code == 503
    assert "DISCORD_CLIENT_SECRET" in answer.text


async def test_login_returns_to_the_page_that_asked_for_it_but_never_offsite(
    runtime: Any, emulator: Emulator, people: People
) -> None:
    async def land(next_path: str) -> str:
        async with httpx.AsyncClient(base_url=runtime.web_url) as http:
            start = await http.get("/auth/login", params={"next": next_path})
            query = _query(start.headers["location"])
            back = emulator.approve_oauth(
                people.admin_a, query["client_id"], query["redirect_uri"], query["scope"], query["state"]
            )
            return (await http.get(_path(back))).headers["location"]

    assert await land(f"/guilds/{people.guild_a.id}/?tab=1#top") == f"/guilds/{people.guild_a.id}/?tab=1#top"
    assert await land("") == "/guilds"  # no next: the server picker
    offsite = ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\/evil.example", "evil.example"]
    # browsers drop tabs and newlines inside a URL, so "/\t/evil.example" would read as "//evil.example";
    # newlines in a Location header were a 500 (after the session cookie was set)
    broken = ["/\t/evil.example", "/\n/x", "/\r\n/x", "/\x0b/x", "/\x00/x", " /x", "/x y", "/é", "/" + "a" * 3000]
    for value in offsite + broken:
        assert await land(value) == "/", value


async def test_logout_needs_the_csrf_token_then_ends_the_session(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)

    refused = await client.http.post("/auth/logout")
    still_in = await client.get("/api/v1/me")
    out = await client.form("/auth/logout")
    after = await client.get("/api/v1/me")

    assert refused.status_code == 403 and still_in.status_code == 200
    assert out.status_code == 302
    assert after.status_code == 401
    assert await WebSession.filter(user_id=people.admin_a).count() == 0


async def test_a_stolen_cookie_is_useless_after_logout(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    cookie = client.cookies["omo_session"]
    await client.form("/auth/logout")

    async with httpx.AsyncClient(base_url=runtime.web_url, cookies={"omo_session": cookie}) as thief:
        answer = await thief.get(f"/guilds/{people.guild_a.id}/")

    assert answer.status_code == 401


async def test_session_survives_a_restart_of_the_runtime(
    runtime_factory: Any, emulator: Emulator, people: People
) -> None:
    first = await runtime_factory(ECHO)
    client = await web_login_client(first, emulator, people.admin_a)
    cookie = client.cookies["omo_session"]
    await client.aclose()
    await runtime_factory.stop_all()

    second = await runtime_factory(ECHO)
    async with httpx.AsyncClient(base_url=second.web_url, cookies={"omo_session": cookie}) as http:
        me = await http.get("/api/v1/me")
        page = await http.get(f"/guilds/{people.guild_a.id}/")

    assert me.status_code == 200 and me.json()["id"] == str(people.admin_a)
    assert page.status_code == 200 and "Test Guild" in page.text


async def test_a_cookie_signed_with_another_key_is_ignored(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)
    cookie = client.cookies["omo_session"]
    session_id, _, signature = cookie.partition(".")
    forged = session_id + "." + ("A" * len(signature))

    async with httpx.AsyncClient(base_url=runtime.web_url, cookies={"omo_session": forged}) as http:
        answer = await http.get("/api/v1/me")

    assert answer.status_code == 401
