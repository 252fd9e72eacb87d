"""Dashboard pages and the JSON API of mileage, through a real login (OAuth2 round trip in the emulator)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from tests.mileage.conftest import mileage_plugins, settled, state


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins(message_points_min=10, message_points_max=10, cooldown_seconds=0)


async def test_leaderboard_page_shows_members_progress_and_the_chart(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any, web_login: Any
) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "mileage give", member=member, points=150, reason="seed")
    client = await web_login(runtime, admin)

    page = await client.get(f"/guilds/{guild.id}/mileage/")
    week = await client.get(f"/guilds/{guild.id}/mileage/?window=7d&page=abc")

    assert page.status_code == 200
    assert f'href="/guilds/{guild.id}/mileage/member/{member.user_id}">mo</a>' in page.text
    assert re.search(r'<progress class="mlg-progress" max="1" value="0\.32\d*"', page.text)  # 50 of 155
    assert "<svg" in page.text and "150 points</title>" in page.text
    assert week.status_code == 200 and "mo</a>" in week.text


async def test_member_page_adjusts_and_reverses_with_csrf(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    base = f"/guilds/{guild.id}/mileage/member/{member.user_id}"

    forged = await client.http.post(f"{base}/adjust", data={"points": "5", "reason": "no token"})
    saved = await client.form(f"{base}/adjust", {"points": "40", "reason": "helped out"})
    bad = await client.form(f"{base}/adjust", {"points": "lots", "reason": "x"})
    page = await client.get(base)
    event_id = int(re.search(r"/events/(\d+)/reverse", page.text).group(1))
    reversed_ = await client.form(f"/guilds/{guild.id}/mileage/events/{event_id}/reverse", {})
    twice = await client.form(f"/guilds/{guild.id}/mileage/events/{event_id}/reverse", {})
    after = await client.get(base)

    assert forged.status_code in (400, 403)
    assert saved.status_code == 303
    assert bad.status_code == 400 and "is not a whole number" in bad.text
    assert "helped out" in page.text and "+40" in page.text
    assert reversed_.status_code == 303 and twice.status_code == 409
    assert "reversed by #" in after.text
    assert await state(runtime).service.total(guild.id, member.user_id) == 0


async def test_tiers_editor_lists_real_roles_and_warns_on_unmanageable_ones(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any, web_login: Any
) -> None:
    gold = emulator.create_role(guild, "Gold")
    boss = emulator.create_role(guild, "Boss", position=emulator.bot_role(guild).position + 1)
    client = await web_login(runtime, admin)
    url = f"/guilds/{guild.id}/mileage/tiers"

    editor = await client.get(url)
    saved = await client.form(url, {"action": "add", "name": "Gold", "threshold": "10", "role_id": str(gold.id)})
    boss_tier = await client.form(url, {"action": "add", "name": "Boss", "threshold": "20", "role_id": str(boss.id)})
    bad = await client.form(url, {"action": "add", "name": "X", "threshold": "-1", "role_id": str(gold.id)})
    listed = await client.get(url)

    assert f'<option value="{gold.id}">@Gold</option>' in editor.text
    assert f'<option value="{boss.id}">@Boss (⚠ the bot cannot grant it)</option>' in editor.text
    assert saved.status_code == 303 and boss_tier.status_code == 303
    assert bad.status_code == 400 and "is not a threshold" in bad.text
    assert "@Gold" in listed.text and "⚠" in listed.text
    await emulator.invoke(admin, emulator.general(guild), "mileage give", member=member, points=25, reason="r")
    await settled(runtime)
    assert gold.id in emulator.world.guilds[guild.id].members[member.user_id].roles


async def test_import_and_export_pages(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    url = f"/guilds/{guild.id}/mileage/transfer"
    csv_data = b"member_id,points\n300000000000000001,120\n300000000000000002,30\n"

    form = await client.get(url)
    imported = await client.http.post(
        url, data={"csrf_token": client.csrf_token}, files={"file": ("points.csv", csv_data, "text/csv")}
    )
    refused = await client.http.post(
        url, data={"csrf_token": client.csrf_token}, files={"file": ("bad.csv", b"1,2,3,4\n", "text/csv")}
    )
    exported = await client.get(f"/guilds/{guild.id}/mileage/export.csv")

    assert 'enctype="multipart/form-data"' in form.text
    assert "Imported 2 member(s), 150 points" in imported.text
    assert refused.status_code == 400 and "Nothing was imported" in refused.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines() == [
        "member_id,points,level",
        "300000000000000001,120,1",
        "300000000000000002,30,0",
    ]


async def test_api_reads_and_writes_with_the_same_rules(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any, web_login: Any
) -> None:
    gold = emulator.create_role(guild, "Gold")
    client = await web_login(runtime, admin)
    api = f"/api/v1/guilds/{guild.id}/mileage"

    adjusted = await client.json("POST", f"{api}/members/{member.user_id}/adjust", {"points": 70, "reason": "api"})
    too_big = await client.json("POST", f"{api}/members/{member.user_id}/adjust", {"points": 10**12, "reason": "x"})
    no_reason = await client.json("POST", f"{api}/members/{member.user_id}/adjust", {"points": 5, "reason": ""})
    tier = await client.json("PUT", f"{api}/tiers/Gold", {"threshold": 50, "role_id": str(gold.id)})
    bad_tier = await client.json("PUT", f"{api}/tiers/Gold", {"threshold": 50, "role_id": "12"})
    board = await client.get(f"{api}/leaderboard?window=30d&per_page=5")
    bad_window = await client.get(f"{api}/leaderboard?window=year")
    one = await client.get(f"{api}/members/{member.user_id}")
    events = await client.get(f"{api}/members/{member.user_id}/events")
    reverse = await client.json("POST", f"{api}/events/{adjusted.json()['event_id']}/reverse", {"reason": "undo"})
    again = await client.json("POST", f"{api}/events/{adjusted.json()['event_id']}/reverse", {"reason": "undo"})
    missing = await client.json("POST", f"{api}/events/99999/reverse", {})
    daily = await client.get(f"{api}/daily?days=7")
    imported = await client.http.post(
        f"{api}/import",
        content=json.dumps({"players": [{"id": "300000000000000005", "xp": 1150, "level": 5}]}),
        headers={"X-CSRF-Token": client.csrf_token},
    )
    synced = await client.json("POST", f"{api}/sync-roles")
    docs = await client.get("/openapi.json")
    huge = await client.get(f"{api}/members/{2**70}")
    huge_event = await client.json("POST", f"{api}/events/{2**64}/reverse", {})

    assert adjusted.status_code == 200 and adjusted.json()["total"] == 70
    assert too_big.status_code == 400 and no_reason.status_code == 400
    assert tier.status_code == 200 and tier.json()["tiers"][0]["role_name"] == "Gold"
    assert bad_tier.status_code == 400
    assert board.json()["rows"][0] == {
        "rank": 1,
        "user_id": str(member.user_id),
        "name": "mo",
        "points": 70,
        "level": None,
        "progress": None,
    }
    assert bad_window.status_code == 400
    assert one.json()["tier"] == "Gold" and one.json()["level"] == 0
    assert events.json()["events"][0]["reason"] == "api"
    assert events.json()["events"][0]["actor_id"] == str(admin.user_id)
    assert reverse.status_code == 200 and reverse.json()["total"] == 0
    assert again.status_code == 409 and missing.status_code == 404
    assert len(daily.json()["days"]) == 7 and daily.json()["days"][-1]["points"] == 0
    assert imported.status_code == 200 and imported.json()["members"] == 1
    assert synced.status_code == 200 and synced.json()["checked"] >= 1
    assert huge.status_code == 404 and huge_event.status_code == 404
    paths = docs.json()["paths"]
    assert "/api/v1/guilds/{guild_id}/mileage/leaderboard" in paths
    assert "/api/v1/guilds/{guild_id}/mileage/events/{event_id}/reverse" in paths


async def test_pages_and_api_are_refused_to_members_without_manage_server(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any, web_login: Any
) -> None:
    client = await web_login(runtime, member)

    page = await client.get(f"/guilds/{guild.id}/mileage/")
    api = await client.json(
        "POST",
        f"/api/v1/guilds/{guild.id}/mileage/members/{member.user_id}/adjust",
        {"points": 5, "reason": "self-service"},
    )

    assert page.status_code == 403 and api.status_code == 403
    assert await state(runtime).service.history(guild.id) == []
