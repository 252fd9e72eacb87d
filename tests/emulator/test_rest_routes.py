"""Every REST route, called raw, with Discord's status codes, error codes and JSON shapes."""

from __future__ import annotations

from typing import Any

import aiohttp

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import MemberFactory


class Api:
    def __init__(self, session: aiohttp.ClientSession, emu: Emulator) -> None:
        self.session = session
        self.emu = emu

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        auth: bool = True,
        code: int | None = None,
        **params: str,
    ) -> Any:
        headers = {"Authorization": f"Bot {self.emu.bot_token}"} if auth else {}
        async with self.session.request(
            method, self.emu.api_url + path, json=body, headers=headers, params=params or None
        ) as resp:
            assert resp.status == status, (method, path, resp.status, await resp.text())
            if resp.status == 204:
                return None
            assert resp.headers["Content-Type"] == "application/json"
            data = await resp.json()
            if code is not None:
                assert data["code"] == code, data
            return data


async def test_every_rest_route(emulator: Emulator, guild: Guild, member_factory: MemberFactory) -> None:
    emu = emulator
    app = f"/applications/{emu.application_id}"
    alice = member_factory("alice")
    general = emu.general(guild)
    async with aiohttp.ClientSession() as session:
        api = Api(session, emu)
        # gateway, users, application
        assert (await api("GET", "/gateway", auth=False))["url"] == emu.gateway_url
        bot_gateway = await api("GET", "/gateway/bot")
        assert bot_gateway["shards"] == 1 and bot_gateway["session_start_limit"]["max_concurrency"] == 1
        assert (await api("GET", "/users/@me"))["id"] == str(emu.application_id)
        await api("GET", "/users/@me", auth=False, status=401, code=0)
        assert [g["id"] for g in await api("GET", "/users/@me/guilds")] == [str(guild.id)]
        assert (await api("GET", f"/users/{alice.user_id}"))["username"] == "alice"
        await api("GET", "/users/1", status=404, code=10013)
        dm = await api("POST", "/users/@me/channels", {"recipient_id": str(alice.user_id)})
        assert dm["type"] == 1 and dm["recipients"][0]["id"] == str(alice.user_id)
        assert (await api("GET", "/applications/@me"))["id"] == str(emu.application_id)
        assert (await api("GET", "/oauth2/applications/@me"))["bot_public"] is True

        # application commands, global and guild
        cmd = {"name": "ping", "description": "Ping", "type": 1}
        listed = await api("PUT", f"{app}/commands", [cmd])
        cid = listed[0]["id"]
        assert listed[0]["application_id"] == str(emu.application_id) and "version" in listed[0]
        assert len(await api("GET", f"{app}/commands")) == 1
        created = await api("POST", f"{app}/commands", {"name": "pong", "description": "Pong"}, status=201)
        assert (await api("GET", f"{app}/commands/{created['id']}"))["name"] == "pong"
        patched = await api("PATCH", f"{app}/commands/{cid}", {"description": "Ping!"})
        assert patched["description"] == "Ping!" and patched["id"] == cid
        await api("DELETE", f"{app}/commands/{created['id']}", status=204)
        await api("GET", f"{app}/commands/{created['id']}", status=404, code=10063)
        await api("PUT", f"{app}/commands", [{"name": "Bad Name", "description": "x"}], status=400, code=50035)
        gapp = f"{app}/guilds/{guild.id}/commands"
        glisted = await api("PUT", gapp, [cmd])
        assert glisted[0]["guild_id"] == str(guild.id)
        assert len(await api("GET", gapp)) == 1
        gcreated = await api("POST", gapp, {"name": "local", "description": "Local"}, status=201)
        assert (await api("GET", f"{gapp}/{gcreated['id']}"))["name"] == "local"
        await api("PATCH", f"{gapp}/{gcreated['id']}", {"description": "Local!"})
        await api("DELETE", f"{gapp}/{gcreated['id']}", status=204)
        assert await api("GET", f"{gapp}/permissions") == []

        # channels and messages
        chan = await api("GET", f"/channels/{general.id}")
        assert chan["name"] == "general" and chan["type"] == 0 and chan["guild_id"] == str(guild.id)
        await api("GET", "/channels/1", status=404, code=10003)
        assert (await api("PATCH", f"/channels/{general.id}", {"topic": "Talk"}))["topic"] == "Talk"
        extra = await api("POST", f"/guilds/{guild.id}/channels", {"name": "extra", "type": 0}, status=201)
        await api("POST", f"/guilds/{guild.id}/channels", {"name": ""}, status=400, code=50035)
        assert {c["name"] for c in await api("GET", f"/guilds/{guild.id}/channels")} >= {"general", "extra"}
        assert (await api("DELETE", f"/channels/{extra['id']}"))["id"] == extra["id"]
        m1 = await api("POST", f"/channels/{general.id}/messages", {"content": f"hi <@{alice.user_id}>"})
        assert m1["mentions"][0]["id"] == str(alice.user_id) and m1["author"]["bot"] is True
        m2 = await api(
            "POST",
            f"/channels/{general.id}/messages",
            {"content": "reply", "message_reference": {"message_id": m1["id"]}},
        )
        assert m2["type"] == 19 and m2["referenced_message"]["id"] == m1["id"]
        await api("POST", f"/channels/{general.id}/messages", {}, status=400, code=50006)
        await api(
            "POST",
            f"/channels/{general.id}/messages",
            {"content": "x", "message_reference": {"message_id": "1"}},
            status=400,
            code=50035,
        )
        listed_msgs = await api("GET", f"/channels/{general.id}/messages", limit="1")
        assert [m["id"] for m in listed_msgs] == [m2["id"]]
        assert [m["id"] for m in await api("GET", f"/channels/{general.id}/messages", before=m2["id"])] == [m1["id"]]
        await api("GET", f"/channels/{general.id}/messages", limit="101", status=400, code=50035)
        assert (await api("GET", f"/channels/{general.id}/messages/{m1['id']}"))["content"].startswith("hi")
        await api("GET", f"/channels/{general.id}/messages/1", status=404, code=10008)
        assert (await api("PATCH", f"/channels/{general.id}/messages/{m1['id']}", {"content": "edited"}))[
            "edited_timestamp"
        ] is not None
        await api("PUT", f"/channels/{general.id}/messages/{m1['id']}/reactions/%F0%9F%91%8D/@me", status=204)
        await api("POST", f"/channels/{general.id}/typing", status=204)
        thread = await api("POST", f"/channels/{general.id}/threads", {"name": "side", "type": 11}, status=201)
        assert thread["type"] == 11 and thread["parent_id"] == str(general.id)
        assert thread["thread_metadata"]["archived"] is False
        from_msg = await api(
            "POST", f"/channels/{general.id}/messages/{m1['id']}/threads", {"name": "about"}, status=201
        )
        assert from_msg["id"] == m1["id"]
        assert (await api("POST", f"/channels/{thread['id']}/messages", {"content": "in thread"}))["channel_id"] == (
            thread["id"]
        )
        m3 = await api("POST", f"/channels/{general.id}/messages", {"content": "three"})
        await api(
            "POST",
            f"/channels/{general.id}/messages/bulk-delete",
            {"messages": [m2["id"], m3["id"]]},
            status=204,
        )
        await api("DELETE", f"/channels/{general.id}/messages/{m1['id']}", status=204)
        await api("DELETE", f"/channels/{general.id}/messages/{m1['id']}", status=404, code=10008)

        # guild, roles, members
        g = await api("GET", f"/guilds/{guild.id}", with_counts="true")
        assert g["approximate_member_count"] == 3 and g["roles"][0]["name"] == "@everyone"
        await api("GET", "/guilds/1", status=404, code=10004)
        assert (await api("GET", f"/guilds/{guild.id}/roles"))[0]["name"] == "@everyone"
        role = await api("POST", f"/guilds/{guild.id}/roles", {"name": "Gold", "permissions": "0"})
        await api(
            "POST",
            f"/guilds/{guild.id}/roles",
            {"name": "Admin", "permissions": str(1 << 3)},
            status=403,
            code=50013,
        )
        assert (await api("PATCH", f"/guilds/{guild.id}/roles/{role['id']}", {"name": "Golden"}))["name"] == "Golden"
        await api("PATCH", f"/guilds/{guild.id}/roles/1", {"name": "x"}, status=404, code=10011)
        members = await api("GET", f"/guilds/{guild.id}/members", limit="1000")
        assert len(members) == 3
        assert (await api("GET", f"/guilds/{guild.id}/members/{alice.user_id}"))["user"]["username"] == "alice"
        await api("GET", f"/guilds/{guild.id}/members/1", status=404, code=10007)
        await api("PUT", f"/guilds/{guild.id}/members/{alice.user_id}/roles/{role['id']}", status=204)
        assert role["id"] in (await api("GET", f"/guilds/{guild.id}/members/{alice.user_id}"))["roles"]
        await api("DELETE", f"/guilds/{guild.id}/members/{alice.user_id}/roles/{role['id']}", status=204)
        bot_role = emu.bot_role(guild)
        await api("PUT", f"/guilds/{guild.id}/members/{alice.user_id}/roles/{bot_role.id}", status=403, code=50013)
        edited = await api(
            "PATCH", f"/guilds/{guild.id}/members/{alice.user_id}", {"nick": "Ali", "roles": [role["id"]]}
        )
        assert edited["nick"] == "Ali" and edited["roles"] == [role["id"]]
        assert (await api("PATCH", f"/guilds/{guild.id}/members/@me", {"nick": "Botty"}))["nick"] == "Botty"
        await api("DELETE", f"/guilds/{guild.id}/roles/{role['id']}", status=204)

        # webhooks
        hook = await api("POST", f"/channels/{general.id}/webhooks", {"name": "Hooky"})
        assert hook["token"] and hook["channel_id"] == str(general.id)
        assert [h["id"] for h in await api("GET", f"/channels/{general.id}/webhooks")] == [hook["id"]]
        assert (await api("GET", f"/webhooks/{hook['id']}"))["name"] == "Hooky"
        assert "token" not in await api("GET", f"/webhooks/{hook['id']}/{hook['token']}", auth=False)
        await api("GET", f"/webhooks/{hook['id']}/wrong", auth=False, status=404, code=10015)
        await api("POST", f"/webhooks/{hook['id']}/{hook['token']}", {"content": "no wait"}, auth=False, status=204)
        wm = await api(
            "POST", f"/webhooks/{hook['id']}/{hook['token']}", {"content": "hooked"}, auth=False, wait="true"
        )
        assert wm["webhook_id"] == hook["id"] and wm["author"]["username"] == "Hooky"
        base = f"/webhooks/{hook['id']}/{hook['token']}/messages/{wm['id']}"
        assert (await api("GET", base, auth=False))["content"] == "hooked"
        assert (await api("PATCH", base, {"content": "rehooked"}, auth=False))["content"] == "rehooked"
        await api("DELETE", base, auth=False, status=204)
        await api("DELETE", f"/webhooks/{hook['id']}", status=204)

        # interactions: callback, @original, follow-ups
        inter = emu._new_interaction(2, {"id": "1", "name": "ping", "type": 1}, alice, general)
        cb = f"/interactions/{inter.id}/{inter.token}/callback"
        await api(
            "POST",
            f"/interactions/{inter.id}/wrong/callback",
            {"type": 4, "data": {"content": "x"}},
            auth=False,
            status=404,
            code=10062,
        )
        await api("POST", cb, {"type": 8, "data": {"choices": []}}, auth=False, status=400, code=50035)
        answer = await api(
            "POST",
            cb,
            {"type": 4, "data": {"content": "pong", "flags": 64}},
            auth=False,
            with_response="true",
        )
        assert answer["resource"]["message"]["content"] == "pong"
        assert answer["interaction"]["response_message_ephemeral"] is True
        await api("POST", cb, {"type": 4, "data": {"content": "again"}}, auth=False, status=400, code=40060)
        wh = f"/webhooks/{emu.application_id}/{inter.token}"
        original = await api("GET", f"{wh}/messages/@original", auth=False)
        assert original["content"] == "pong" and original["flags"] & 64
        assert (await api("PATCH", f"{wh}/messages/@original", {"content": "pong!"}, auth=False))["content"] == "pong!"
        follow = await api("POST", wh, {"content": "more"}, auth=False, wait="true")
        assert follow["content"] == "more"
        assert (await api("PATCH", f"{wh}/messages/{follow['id']}", {"content": "more!"}, auth=False))[
            "content"
        ] == "more!"
        await api("DELETE", f"{wh}/messages/@original", auth=False, status=204)
        second = emu._new_interaction(2, {"id": "1", "name": "ping", "type": 1}, alice, general)
        await api(
            "POST",
            f"/webhooks/{emu.application_id}/{second.token}",
            {"content": "early"},
            auth=False,
            status=404,
            code=10015,
        )
        await api("POST", f"/interactions/{second.id}/{second.token}/callback", {"type": 5}, auth=False, status=204)
        assert (await api("GET", f"/webhooks/{emu.application_id}/{second.token}/messages/@original", auth=False))[
            "flags"
        ] & 128

        # oauth endpoints (details in test_oauth.py)
        async with session.post(f"{emu.api_url}/oauth2/token", data={"grant_type": "authorization_code"}) as resp:
            assert resp.status == 401
        async with session.post(f"{emu.api_url}/oauth2/token/revoke", data={"token": "x"}) as resp:
            assert resp.status == 401

        # unknown routes and methods, invalid JSON
        await api("GET", "/nope", status=404, code=0)
        await api("POST", "/gateway", status=405, code=0)
        async with session.post(
            f"{emu.api_url}/channels/{general.id}/messages",
            data=b"{not json",
            headers={"Authorization": f"Bot {emu.bot_token}", "Content-Type": "application/json"},
        ) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50109

        # kick and leave last
        await api("DELETE", f"/guilds/{guild.id}/members/{guild.owner_id}", status=403, code=50013)
        await api("DELETE", f"/guilds/{guild.id}/members/{alice.user_id}", status=204)
        await api("DELETE", f"/users/@me/guilds/{guild.id}", status=204)
        await api("GET", f"/guilds/{guild.id}", status=404, code=10004)

    hit = {r.route for r in emu.requests}
    expected = {f"{m} {p}" for m, p, _ in emu.rest.routes() + emu.oauth.api_routes()}  # type: ignore[operator]
    assert expected - hit == set()
