"""Plugin API routes at their own address and at their ``/api/v1`` alias: one route, dispatched by Quart as usual
(the plugin's after-request and error handlers, the app's JSON errors, security headers and the API rate limit)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import People

PLUGINS = {"apiplug": {"module": "tests.webadmin.apiplug"}}
JSON_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return dict(PLUGINS)


def both_addresses(guild_id: int, rest: str) -> list[str]:
    return [f"/guilds/{guild_id}/apiplug/api/{rest}", f"/api/v1/guilds/{guild_id}/apiplug/{rest}"]


async def test_an_error_in_a_plugin_api_route_gets_the_json_error_and_the_security_headers(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)

    answers = [await client.get(url) for url in both_addresses(people.guild_a.id, "boom")]

    for answer in answers:
        assert answer.status_code == 500
        assert answer.json() == {
            "error": "internal error",
            "detail": "Something went wrong on our side; it has been logged.",
        }
        assert {name: answer.headers.get(name) for name in JSON_HEADERS} == JSON_HEADERS
        assert answer.headers["x-apiplug"] == "seen"  # the plugin's own after-request handler ran


async def test_the_plugin_blueprint_error_handler_answers_at_both_addresses(
    runtime: Any, people: People, web_login: Any
) -> None:
    client = await web_login(runtime, people.admin_a)

    answers = [await client.get(url) for url in both_addresses(people.guild_a.id, "items/7")]

    assert [a.status_code for a in answers] == [404, 404]
    assert [a.json()["error"] for a in answers] == ["no such item", "no such item"]
    assert all(a.headers["x-apiplug"] == "seen" for a in answers)


async def test_plugin_api_routes_are_rate_limited_alike_at_both_addresses(
    runtime_factory: Any, people: People, web_login: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OMO_API_RATE_LIMIT", "3/60")
    runtime = await runtime_factory(PLUGINS, owners=[people.operator])
    client = await web_login(runtime, people.admin_a)
    gid = people.guild_a.id
    own_items, alias_items = both_addresses(gid, "items")
    own_summary, alias_summary = both_addresses(gid, "summary")

    # past the limit at the plugin's own address, then the alias of the same route shares the bucket
    items = [await client.get(own_items) for _ in range(4)] + [await client.get(alias_items)]
    # past the limit at the alias, then the route's own address is refused as well
    summary = [await client.get(alias_summary) for _ in range(4)] + [await client.get(own_summary)]

    for answers in (items, summary):
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
        assert all(a.headers["ratelimit-limit"] == "3" and int(a.headers["ratelimit-reset"]) > 0 for a in answers)
        assert answers[-1].json()["error"] == "rate limited" and int(answers[-1].headers["retry-after"]) > 0
