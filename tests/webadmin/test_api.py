"""The JSON API: endpoints, validation errors, bearer tokens, the plugin API alias, OpenAPI, rate limits."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import httpx
import pytest

from core.testing.emulator import Emulator
from tests.config.helpers import count_queries

from .conftest import ECHO, People, bearer, operator_token, token_id

PLUGINS = {"echo": {"module": "tests.sample_plugins.echo"}, "apiplug": {"module": "tests.webadmin.apiplug"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return dict(PLUGINS)


async def test_me_and_guilds_for_a_logged_in_admin(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)

    me = (await client.get("/api/v1/me")).json()
    guilds = (await client.get("/api/v1/guilds")).json()

    assert me == {
        "id": str(people.admin_a),
        "username": "alice",
        "avatar_url": None,
        "operator": False,
        "via": "session",
    }
    assert [g["name"] for g in guilds["manage"]] == ["Test Guild"]
    assert guilds["operator_only"] == []


async def test_guild_plugins_lists_switch_status_and_links(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)
    gid = people.guild_a.id

    body = (await client.get(f"/api/v1/guilds/{gid}/plugins")).json()

    by_name = {p["name"]: p for p in body["plugins"]}
    assert body["guild_id"] == str(gid)
    assert by_name["apiplug"] == {
        "name": "apiplug",
        "version": "2.0",
        "description": "keeps a list per server",
        "enabled": True,
        "status": "0 items kept",
        "links": [
            {"label": "Items", "url": f"/guilds/{gid}/apiplug/"},
            {"label": "Item API", "url": f"/guilds/{gid}/apiplug/api/items"},
        ],
    }
    assert by_name["echo"]["enabled"] is True


async def test_put_switch_changes_the_gate_and_answers_the_new_state(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    url = f"/api/v1/guilds/{people.guild_a.id}/plugins/apiplug"

    off = await client.json("PUT", url, {"enabled": False})
    on = await client.json("PUT", url, {"enabled": True})

    assert off.status_code == 200 and off.json()["enabled"] is False and off.json()["status"] is None
    assert on.json()["enabled"] is True and on.json()["status"] == "0 items kept"
    assert runtime.gate.explicit(people.guild_a.id, "apiplug") is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "enabled"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"enabled": True, "extra": 1}, "extra"),
        ([True], "(body)"),
    ],
)
async def test_invalid_switch_body_is_400_naming_the_field(
    runtime: Any, people: People, web_login: Any, body: Any, field: str
) -> None:
    client = await web_login(runtime, people.admin_a)

    answer = await client.json("PUT", f"/api/v1/guilds/{people.guild_a.id}/plugins/echo", body)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid request body"
    assert field in [d["field"] for d in answer.json()["detail"]]
    assert runtime.gate.explicit(people.guild_a.id, "echo") is None


async def test_malformed_json_is_400_with_a_json_error(runtime: Any, people: People, web_login: Any) -> None:
    client = await web_login(runtime, people.admin_a)

    answer = await client.http.put(
        f"/api/v1/guilds/{people.guild_a.id}/plugins/echo",
        content=b'{"enabled": tru',
        headers={"Content-Type": "application/json", "X-CSRF-Token": client.csrf_token},
    )

    assert answer.status_code == 400
    assert set(answer.json()) == {"error", "detail"}
    assert runtime.gate.explicit(people.guild_a.id, "echo") is None


async def test_unknown_plugin_and_unknown_guild_are_404(runtime: Any, people: People, web_login: Any) -> None:
    operator = await web_login(runtime, people.operator)

    plugin = await operator.json("PUT", f"/api/v1/guilds/{people.guild_a.id}/plugins/nope", {"enabled": True})
    guild = await operator.get("/api/v1/guilds/12345/plugins")
    route = await operator.get("/api/v1/nothing-here")

    assert plugin.status_code == 404 and plugin.json()["error"] == "unknown plugin"
    assert guild.status_code == 404 and guild.json()["error"] == "bot not in server"
    assert route.status_code == 404 and route.json()["error"] == "not found"


async def test_operator_plugins_lists_every_plugin_with_usage(runtime: Any, people: People, web_login: Any) -> None:
    operator = await web_login(runtime, people.operator)
    await runtime.gate.set_enabled(people.guild_b.id, "apiplug", False)

    body = (await operator.get("/api/v1/operator/plugins")).json()

    rows = {p["name"]: p for p in body["plugins"]}
    assert rows["apiplug"]["state"] == "enabled" and rows["apiplug"]["guilds"] == 1
    assert rows["echo"]["guilds"] == 2 and rows["echo"]["version"] == "1.0"
    assert body["plugins_file_error"] is None


async def test_bearer_token_reads_and_reloads_and_is_refused_after_revoke(
    runtime: Any, people: People, web_login: Any
) -> None:
    secret = await operator_token(runtime, people, web_login)
    operator = await web_login(runtime, people.operator)

    async with bearer(runtime, secret) as script:
        me = await script.get("/api/v1/me")
        reload = await script.post("/api/v1/operator/plugins/echo/reload")
        listed = token_id((await operator.get("/operator")).text)
        revoked = await operator.form(f"/operator/tokens/{listed}/revoke")
        after = await script.get("/api/v1/me")

    assert me.json()["via"] == "token" and me.json()["operator"] is True
    assert reload.status_code == 200 and reload.json()["plugin"] == "echo"
    assert runtime.host.records["echo"].reloads == 1
    assert revoked.status_code == 303
    assert after.status_code == 401 and after.json()["error"] == "invalid token"


async def test_tokens_are_stored_hashed(runtime: Any, people: People, web_login: Any) -> None:
    import hashlib

    from core.models import ApiToken

    secret = await operator_token(runtime, people, web_login)

    row = await ApiToken.get(name="script")
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (await (await web_login(runtime, people.operator)).get("/operator")).text


async def test_a_token_with_an_empty_name_is_refused(runtime: Any, people: People, web_login: Any) -> None:
    operator = await web_login(runtime, people.operator)

    answer = await operator.form("/operator/tokens", {"name": "   "})

    assert answer.status_code == 400 and "give the token a name" in answer.text


async def test_an_unknown_bearer_token_is_401(runtime: Any) -> None:
    async with bearer(runtime, "omo_not-a-real-token") as script:
        answer = await script.get("/api/v1/operator/plugins")

    assert answer.status_code == 401 and answer.json()["error"] == "invalid token"


async def test_reload_of_unknown_plugin_is_404(runtime: Any, people: People, web_login: Any) -> None:
    operator = await web_login(runtime, people.operator)

    answer = await operator.json("POST", "/api/v1/operator/plugins/ghost/reload")

    assert answer.status_code == 404


async def test_failed_reload_is_409_and_the_old_version_keeps_serving(
    runtime_factory: Any, emulator: Emulator, people: People, web_login: Any, tmp_path: Any
) -> None:
    package = tmp_path / "pkgs" / "flaky_plugin"
    package.mkdir(parents=True)
    source = textwrap.dedent("""
        from quart import Blueprint
        from core.plugin import PluginInfo, hookimpl

        @hookimpl
        def omo_plugin_info():
            return PluginInfo(version="1.0", description="flaky")

        @hookimpl
        def omo_blueprint(plugin):
            bp = Blueprint("flaky", __name__)

            @bp.get("/api/version")
            async def version(guild_id):
                return {"version": "1.0"}

            return bp
    """)
    (package / "__init__.py").write_text(source)
    sys.path.insert(0, str(tmp_path / "pkgs"))
    try:
        runtime = await runtime_factory({**ECHO, "flaky": {"module": "flaky_plugin"}}, owners=[people.operator])
        operator = await web_login(runtime, people.operator)
        (package / "__init__.py").write_text(source + "\nraise RuntimeError('broken on purpose')\n")

        answer = await operator.json("POST", "/api/v1/operator/plugins/flaky/reload")
        page = await operator.form("/operator/plugins/flaky/reload")
        shown = await operator.get("/operator")
        still = await operator.get(f"/api/v1/guilds/{people.guild_a.id}/flaky/version")
    finally:
        sys.path.remove(str(tmp_path / "pkgs"))
        sys.modules.pop("flaky_plugin", None)

    assert answer.status_code == 409 and "broken on purpose" in answer.json()["detail"]
    assert page.status_code == 303
    assert "Reload failed, the running version stays live" in shown.text and "broken on purpose" in shown.text
    assert still.json() == {"version": "1.0"}


async def test_plugin_api_routes_are_served_under_api_v1_with_the_same_guard(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    gid = people.guild_a.id

    added = await client.json("POST", f"/api/v1/guilds/{gid}/apiplug/items", {"name": "first"})
    listed = await client.get(f"/api/v1/guilds/{gid}/apiplug/items")
    direct = await client.get(f"/guilds/{gid}/apiplug/api/items")
    no_csrf = await client.http.post(f"/api/v1/guilds/{gid}/apiplug/items", json={"name": "x"})
    bad = await client.json("POST", f"/api/v1/guilds/{gid}/apiplug/items", {"nom": 1})
    missing = await client.get(f"/api/v1/guilds/{gid}/apiplug/nothing")
    wrong_method = await client.json("DELETE", f"/api/v1/guilds/{gid}/apiplug/items")
    await runtime.gate.set_enabled(gid, "apiplug", False)
    switched_off = await client.get(f"/api/v1/guilds/{gid}/apiplug/items")

    assert added.status_code == 201 and added.json() == {"items": ["first"]}
    assert listed.json() == direct.json() == {"guild_id": str(gid), "items": ["first"]}
    assert no_csrf.status_code == 403
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "name"
    assert missing.status_code == 404 and missing.json()["error"] == "not found"
    assert wrong_method.status_code == 405
    assert switched_off.status_code == 404 and switched_off.json()["error"] == "plugin disabled"


async def test_plugin_views_may_answer_with_a_pydantic_model_or_a_dict(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)
    gid = people.guild_a.id
    await client.json("POST", f"/api/v1/guilds/{gid}/apiplug/items", {"name": "kept"})

    model = await client.get(f"/api/v1/guilds/{gid}/apiplug/summary")
    with_status = await client.get(f"/api/v1/guilds/{gid}/apiplug/summary?status=1")
    as_dict = await client.get(f"/api/v1/guilds/{gid}/apiplug/items")

    assert model.status_code == 200 and model.headers["content-type"] == "application/json"
    assert model.json() == {"count": 1, "last": "kept"}
    assert with_status.status_code == 203 and with_status.json() == model.json()
    assert as_dict.json() == {"guild_id": str(gid), "items": ["kept"]}


async def test_plugin_api_alias_refuses_strangers_before_saying_anything(runtime: Any, people: People) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        real = await http.get(f"/api/v1/guilds/{people.guild_a.id}/apiplug/items")
        fake = await http.get(f"/api/v1/guilds/{people.guild_a.id}/apiplug/nothing")

    assert real.status_code == fake.status_code == 401


async def test_openapi_document_describes_the_api_only(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        spec = (await http.get("/openapi.json")).json()

    paths = set(spec["paths"])
    assert {
        "/api/v1/me",
        "/api/v1/guilds",
        "/api/v1/guilds/{guild_id}/plugins",
        "/api/v1/guilds/{guild_id}/plugins/{plugin}",
        "/api/v1/operator/plugins",
        "/api/v1/operator/plugins/{name}/reload",
    } <= paths
    assert not any(p.startswith(("/operator", "/auth", "/guilds")) for p in paths)
    body = spec["paths"]["/api/v1/guilds/{guild_id}/plugins/{plugin}"]["put"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["title"] == "SwitchIn"


async def test_api_docs_page_lists_the_endpoints_without_scripts_from_elsewhere(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        page = await http.get("/api/docs")

    assert page.status_code == 200
    assert "/api/v1/guilds/{guild_id}/plugins/{plugin}" in page.text and "SwitchIn" in page.text
    assert "cdn" not in page.text.split("</head>")[0].lower()
    assert "<script>" not in page.text


async def test_api_is_rate_limited_per_caller_with_a_json_429(
    runtime_factory: Any, people: People, web_login: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OMO_API_RATE_LIMIT", "3/60")
    runtime = await runtime_factory(PLUGINS, owners=[people.operator])
    client = await web_login(runtime, people.admin_a)
    other = await web_login(runtime, people.admin_b)

    answers = [(await client.get("/api/v1/me")).status_code for _ in range(5)]
    limited = await client.get("/api/v1/me")
    others = await other.get("/api/v1/me")

    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]
    assert limited.json()["error"] == "rate limited" and int(limited.headers["retry-after"]) > 0
    assert others.status_code == 200


async def test_login_is_rate_limited_per_address(runtime_factory: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OMO_LOGIN_RATE_LIMIT", "2/60")
    runtime = await runtime_factory(ECHO)

    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        answers = [(await http.get("/auth/login")).status_code for _ in range(2)]
        limited = await http.get("/auth/login")
        answers.append(limited.status_code)

    assert answers == [302, 302, 429]
    assert limited.headers["ratelimit-limit"] == "2" and limited.headers["ratelimit-remaining"] == "0"
    assert int(limited.headers["ratelimit-reset"]) > 0 and int(limited.headers["retry-after"]) > 0


async def test_made_up_bearer_tokens_share_their_address_bucket_and_cost_no_lookup_past_it(
    runtime_factory: Any, people: People, web_login: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OMO_API_RATE_LIMIT", "4/60")
    runtime = await runtime_factory(PLUGINS, owners=[people.operator])
    secret = await operator_token(runtime, people, web_login)
    user = await web_login(runtime, people.admin_a)
    async with bearer(runtime, secret) as real:
        first = await real.get("/api/v1/guilds")  # checked against the database once, then a caller of its own

        with count_queries() as queries:
            async with httpx.AsyncClient(base_url=runtime.web_url) as http:
                made_up = [
                    (await http.get("/api/v1/guilds", headers={"Authorization": f"Bearer {prefix}{i:04d}"}))
                    for i in range(12)
                    for prefix in ("omo_made-up-", "x")
                ]
        after = await real.get("/api/v1/guilds")
    session = await user.get("/api/v1/me")

    statuses = [answer.status_code for answer in made_up]
    # the address bucket: the real token's first call, then 3 made-up ones; every other one is refused unread
    assert first.status_code == 200 and statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}
    token_lookups = [q for q in queries.statements if "omo_api_token" in q]
    assert len(token_lookups) <= 3
    refused = made_up[-1]
    assert refused.headers["ratelimit-limit"] == "4" and refused.headers["ratelimit-remaining"] == "0"
    assert int(refused.headers["ratelimit-reset"]) > 0 and int(refused.headers["retry-after"]) > 0
    assert after.status_code == 200 and session.status_code == 200  # verified callers keep their own buckets


async def test_a_token_stops_working_when_its_creator_is_no_longer_an_operator(
    runtime: Any, people: People, web_login: Any
) -> None:
    secret = await operator_token(runtime, people, web_login)
    pf = runtime.plugins_file
    runtime.plugins_file = pf.model_copy(update={"bot": pf.bot.model_copy(update={"owners": [people.admin_b]})})
    runtime.app.extensions["omo_row_cache"].clear()

    async with bearer(runtime, secret) as script:
        answer = await script.get("/api/v1/operator/plugins")

    assert not runtime.is_operator(people.operator), runtime.owners()
    assert answer.status_code == 401


async def test_plugin_api_routes_are_documented_at_their_api_v1_address(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        spec = (await http.get("/openapi.json")).json()

    items = spec["paths"]["/api/v1/guilds/{guild_id}/apiplug/items"]
    assert set(items) == {"get", "post"}
    assert items["get"]["tags"] == ["apiplug"]
    assert not any("/api/items" in path for path in spec["paths"] if not path.startswith("/api/v1/"))
