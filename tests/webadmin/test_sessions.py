"""Server-side sessions: token refresh, expiry, and secrets kept out of logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from core.models import WebSession
from core.testing.emulator import Emulator

from .conftest import People


async def test_an_expired_access_token_is_refreshed_server_side(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    old = await WebSession.get(user_id=people.admin_a)
    await WebSession.filter(id=old.id).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=5), guilds_fetched_at=None
    )
    runtime.app.extensions["omo_row_cache"].clear()

    answer = await client.get(f"/guilds/{people.guild_a.id}/")

    new = await WebSession.get(id=old.id)
    assert answer.status_code == 200
    assert new.access_token != old.access_token and new.expires_at > datetime.now(UTC)
    assert emulator.world.oauth_access.get(new.access_token) is not None


async def test_a_session_whose_tokens_discord_no_longer_accepts_ends_with_a_401(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    session = await WebSession.get(user_id=people.admin_a)
    await WebSession.filter(id=session.id).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=5),
        guilds_fetched_at=None,
        refresh_token="revoked-refresh-token",
    )
    runtime.app.extensions["omo_row_cache"].clear()

    answer = await client.get(f"/guilds/{people.guild_a.id}/")

    assert answer.status_code == 401 and "expired" in answer.text
    assert await WebSession.filter(id=session.id).count() == 0


async def test_discord_being_down_keeps_the_last_known_permissions(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    await WebSession.filter(user_id=people.admin_a).update(guilds_fetched_at=None)
    runtime.app.extensions["omo_row_cache"].clear()
    runtime.options.discord_api = "http://127.0.0.1:9"

    own = await client.get(f"/guilds/{people.guild_a.id}/")
    other = await client.get(f"/guilds/{people.guild_b.id}/")

    assert own.status_code == 200 and other.status_code == 403


async def test_tokens_secret_and_cookies_never_reach_the_logs(
    runtime: Any, emulator: Emulator, people: People, web_login: Any
) -> None:
    with structlog.testing.capture_logs() as logs:
        client = await web_login(runtime, people.admin_a)
        await client.get(f"/guilds/{people.guild_a.id}/")
        await client.http.post(f"/guilds/{people.guild_a.id}/_plugins/echo", data={"enabled": "0"})
        await client.get("/auth/callback?code=bad&state=bad")
        session = await WebSession.get(user_id=people.admin_a)
        await client.form("/auth/logout")

    text = repr(logs)
    assert any(entry.get("event") == "login" for entry in logs)
    for secret in (
        session.access_token,
        session.refresh_token,
        emulator.client_secret,
        client.cookies.get("omo_session") or session.id,
        client.csrf_token,
    ):
        assert secret and secret not in text
