"""OAuth2 authorization-code flow as the web admin login uses it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp

from core.testing.emulator import Emulator, Guild
from core.testing.emulator.rest import encode_basic

REDIRECT = "http://127.0.0.1:8787/auth/callback"


def _code(url: str) -> str:
    return parse_qs(urlsplit(url).query)["code"][0]


async def _token(session: aiohttp.ClientSession, emu: Emulator, **form: str) -> aiohttp.ClientResponse:
    data = {"client_id": str(emu.application_id), "client_secret": emu.client_secret, **form}
    return await session.post(f"{emu.api_url}/oauth2/token", data=data)


async def test_oauth_round_trip_with_browser_form(emulator: Emulator, guild: Guild) -> None:
    owner = emulator.user(guild.owner_id)
    async with aiohttp.ClientSession() as session:
        params = {
            "client_id": str(emulator.application_id),
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "identify guilds",
            "state": "xyz",
        }
        async with session.get(f"{emulator.base_url}/oauth2/authorize", params=params) as resp:
            assert resp.status == 200
            page = await resp.text()
            assert owner.username in page and 'name="state" value="xyz"' in page
        form = {**params, "user_id": str(owner.id), "action": "approve"}
        async with session.post(f"{emulator.base_url}/oauth2/authorize", data=form, allow_redirects=False) as resp:
            assert resp.status == 302
            location = resp.headers["Location"]
        assert location.startswith(REDIRECT) and parse_qs(urlsplit(location).query)["state"] == ["xyz"]
        async with await _token(
            session, emulator, grant_type="authorization_code", code=_code(location), redirect_uri=REDIRECT
        ) as resp:
            assert resp.status == 200
            tokens = await resp.json()
        assert tokens["token_type"] == "Bearer" and tokens["scope"] == "identify guilds"
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        async with session.get(f"{emulator.api_url}/users/@me", headers=bearer) as resp:
            me = await resp.json()
        assert me["id"] == str(owner.id) and me["username"] == owner.username
        async with session.get(f"{emulator.api_url}/users/@me/guilds", headers=bearer) as resp:
            guilds = await resp.json()
        assert guilds == [
            {
                "id": str(guild.id),
                "name": "Test Guild",
                "icon": None,
                "banner": None,
                "owner": True,
                "permissions": str((1 << 51) - 1),
                "features": [],
                "approximate_member_count": 2,
                "approximate_presence_count": 0,
            }
        ]
        async with await _token(
            session, emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        ) as resp:
            refreshed = await resp.json()
        assert refreshed["access_token"] != tokens["access_token"]
        async with session.get(f"{emulator.api_url}/users/@me", headers=bearer) as resp:
            assert resp.status == 401


async def test_oauth_errors(emulator: Emulator, guild: Guild, member_factory) -> None:  # type: ignore[no-untyped-def]
    alice = member_factory("alice")
    url = emulator.approve_oauth(alice, emulator.application_id, REDIRECT, "identify", state="s1")
    code = _code(url)
    async with aiohttp.ClientSession() as session:
        async with await _token(
            session,
            emulator,
            grant_type="authorization_code",
            code=code,
            redirect_uri="http://127.0.0.1:9999/elsewhere",
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == "invalid_grant"
        url = emulator.approve_oauth(alice, emulator.application_id, REDIRECT, "identify")
        code = _code(url)
        bad_secret = {
            "client_id": str(emulator.application_id),
            "client_secret": "wrong",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
        }
        async with session.post(f"{emulator.api_url}/oauth2/token", data=bad_secret) as resp:
            assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"
        basic = {"Authorization": encode_basic(str(emulator.application_id), emulator.client_secret)}
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        async with session.post(f"{emulator.api_url}/oauth2/token", data=form, headers=basic) as resp:
            assert resp.status == 200
            token = (await resp.json())["access_token"]
        async with session.post(f"{emulator.api_url}/oauth2/token", data=form, headers=basic) as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_grant"
        async with await _token(
            session, emulator, grant_type="authorization_code", code="made-up", redirect_uri=REDIRECT
        ) as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_grant"
        async with await _token(session, emulator, grant_type="password") as resp:
            assert (await resp.json())["error"] == "unsupported_grant_type"
        async with session.get(
            f"{emulator.api_url}/users/@me/guilds", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            assert resp.status == 401  # identify only: no guilds scope
        params = {
            "client_id": str(emulator.application_id),
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": "identify",
        }
        async with session.get(f"{emulator.base_url}/oauth2/authorize", params=params) as resp:
            assert resp.status == 400
        cancel = {**params, "redirect_uri": REDIRECT, "action": "cancel", "state": "s2"}
        async with session.post(f"{emulator.base_url}/oauth2/authorize", data=cancel, allow_redirects=False) as resp:
            assert resp.status == 302 and "error=access_denied" in resp.headers["Location"]
        async with session.post(
            f"{emulator.api_url}/oauth2/token/revoke",
            data={
                "token": token,
                "client_id": str(emulator.application_id),
                "client_secret": emulator.client_secret,
            },
        ) as resp:
            assert resp.status == 200
        async with session.get(f"{emulator.api_url}/users/@me", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 401
