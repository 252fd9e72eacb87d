"""``/api/v1/guilds/{guild_id}/config/...``: read and write with the same validation as the commands and pages."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from tests.config.helpers import ECHO, TYPED, service


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


def api(guild: Guild, rest: str) -> str:
    return f"/api/v1/guilds/{guild.id}/config/{rest}"


async def test_get_settings_of_all_plugins_and_of_one(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    await emulator.invoke(admin, emulator.general(guild), "config set", plugin="echo", key="repeat", value="3")
    client = await web_login(runtime, admin)

    every = await client.get(api(guild, "settings"))
    one = await client.get(api(guild, "settings/echo"))

    assert every.status_code == 200
    assert [p["plugin"] for p in every.json()["plugins"]] == ["echo", "typed"]
    body = one.json()
    assert body["values"] == {"prefix": ">", "repeat": 3} and body["overridden"] == ["repeat"]
    repeat = next(f for f in body["fields"] if f["key"] == "repeat")
    assert repeat["default"] == 1 and repeat["overridden"] is True
    assert repeat["spec"]["kind"] == "int" and (repeat["spec"]["ge"], repeat["spec"]["le"]) == (1, 5)
    assert body["json_schema"]["properties"]["repeat"]["maximum"] == 5


async def test_patch_changes_some_keys_and_echo_uses_them(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    answer = await client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": 2}})
    typed = await client.json("PATCH", api(guild, "settings/typed"), {"values": {"every": "1h30m", "limit": 7}})
    echo = await emulator.invoke(admin, emulator.general(guild), "echo", text="p")

    assert answer.status_code == 200, answer.text
    assert answer.json()["changes"][0] | {"entry_id": None} == {
        "plugin": "echo",
        "key": "repeat",
        "old_value": 1,
        "new_value": 2,
        "old_overridden": False,
        "new_overridden": True,
        "entry_id": None,
    }
    assert typed.json()["settings"]["values"]["every"] == "PT1H30M"
    assert echo.content == ">p>p"


async def test_patch_with_a_bad_value_is_400_with_every_field_error_and_changes_nothing(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)

    bad = await client.json(
        "PATCH",
        api(guild, "settings/typed"),
        {"values": {"limit": 0, "zone": "Nowhere/Land", "greeting": "ok", "nope": 1}},
    )
    malformed = await client.json("PATCH", api(guild, "settings/typed"), {"limit": 3})

    assert bad.status_code == 400
    detail = {d["field"]: d["message"] for d in bad.json()["detail"]}
    assert set(detail) == {"limit", "zone", "nope"}
    assert "a whole number from 1 to 100" in detail["limit"]
    assert "not a known timezone" in detail["zone"]
    assert malformed.status_code == 400
    assert await service(runtime).overrides(guild.id, "typed") == {}


async def test_delete_resets_a_key(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    await client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": 4, "prefix": "%"}})

    reset = await client.json("DELETE", api(guild, "settings/echo/repeat"))
    unknown = await client.json("DELETE", api(guild, "settings/echo/colour"))

    assert reset.status_code == 200
    assert reset.json()["settings"]["values"] == {"prefix": "%", "repeat": 1}
    assert unknown.status_code == 404
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 1


async def test_history_and_revert(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    await client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": 2}})
    await client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": 5}})

    history = (await client.get(api(guild, "history?plugin=echo"))).json()["entries"]
    reverted = await client.json("POST", api(guild, f"history/{history[0]['id']}/revert"))
    missing = await client.json("POST", api(guild, "history/999999/revert"))
    after = (await client.get(api(guild, "history"))).json()["entries"]

    assert [(e["old_value"], e["new_value"], e["actor_id"], e["source"]) for e in history] == [
        (2, 5, str(admin.user_id), "api"),
        (1, 2, str(admin.user_id), "api"),
    ]
    assert history[0]["created_at"].endswith("+00:00")
    assert reverted.status_code == 200 and reverted.json()["changes"][0]["new_value"] == 2
    assert missing.status_code == 404
    assert after[0]["reverts_id"] == history[0]["id"] and after[1]["reverted_by"] == after[0]["id"]
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 2


async def test_writes_need_the_csrf_token_and_guild_admin(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, member: Member, web_login: Any
) -> None:
    admin_client = await web_login(runtime, admin)
    member_client = await web_login(runtime, member)

    no_token = await admin_client.http.patch(api(guild, "settings/echo"), json={"values": {"repeat": 2}})
    not_admin = await member_client.json("PATCH", api(guild, "settings/echo"), {"values": {"repeat": 2}})
    not_admin_read = await member_client.get(api(guild, "settings"))

    assert no_token.status_code == 403
    assert not_admin.status_code == 403 and not_admin_read.status_code == 403
    assert await service(runtime).history(guild.id) == []


async def test_switching_a_plugin_off_by_the_api_stops_it_in_that_guild_only(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    other = emulator.create_guild("Other")
    bob = emulator.create_member(other, "bob")
    client = await web_login(runtime, admin)

    off = await client.json("PUT", f"/api/v1/guilds/{guild.id}/plugins/echo", {"enabled": False})
    refused = await emulator.invoke(admin, emulator.general(guild), "echo", text="x")
    served = await emulator.invoke(bob, emulator.general(other), "echo", text="y")
    settings = await client.get(api(guild, "settings/echo"))
    on = await client.json("PUT", f"/api/v1/guilds/{guild.id}/plugins/echo", {"enabled": True})
    back = await emulator.invoke(admin, emulator.general(guild), "echo", text="z")

    assert off.status_code == 200 and on.status_code == 200
    assert "disabled in this server" in (refused.content or "") and served.content == ">y"
    assert settings.status_code == 200  # settings stay readable while the plugin is off
    assert back.content == ">z"


async def test_disabling_config_in_a_guild_closes_its_api_there(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member, web_login: Any
) -> None:
    client = await web_login(runtime, admin)
    await client.json("PUT", f"/api/v1/guilds/{guild.id}/plugins/config", {"enabled": False})

    answer = await client.get(api(guild, "settings"))

    assert answer.status_code == 404


async def test_the_api_is_documented_in_openapi(runtime: Any) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        schema = (await http.get("/openapi.json")).json()

    paths = set(schema["paths"])
    assert "/api/v1/guilds/{guild_id}/config/settings/{name}" in paths
