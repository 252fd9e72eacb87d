"""Staging plugin blueprints on the scratch app: a failed staging leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Blueprint, Quart

from core.web_mount import WebMount


async def _no_guard(plugin: str, guild_id: int) -> Any:
    return None


def _blueprint(*, broken: bool) -> Blueprint:
    bp = Blueprint("notes", __name__)

    @bp.get("/")
    async def page(guild_id: int) -> str:
        return "notes"

    if broken:

        @bp.record
        def explode(_state: Any) -> None:
            raise RuntimeError("broken on purpose")

    return bp


async def test_a_blueprint_that_fails_to_stage_does_not_block_the_fixed_one() -> None:
    mount = WebMount(Quart(__name__), _no_guard)

    with pytest.raises(RuntimeError, match="broken on purpose"):
        mount.stage("notes", _blueprint(broken=True))
    staged = mount.stage("notes", _blueprint(broken=False))

    assert [rule.rule for rule in staged.rules] == ["/guilds/<int:guild_id>/notes/"]


def _api_alias(rule: str) -> str | None:
    prefix = "/guilds/<int:guild_id>/notes/api/"
    return "/v1/<int:guild_id>/notes/" + rule.removeprefix(prefix) if rule.startswith(prefix) else None


async def test_an_aliased_route_is_one_endpoint_at_two_addresses_until_the_plugin_goes() -> None:
    app = Quart(__name__)
    mount = WebMount(app, _no_guard, _api_alias)
    bp = Blueprint("notes", __name__)

    @bp.get("/api/count")
    async def count(guild_id: int) -> Any:
        return {"guild": guild_id}

    @bp.get("/")
    async def page(guild_id: int) -> str:
        return "page"

    mount.swap("notes", mount.stage("notes", bp))
    rules = sorted(r.rule for r in app.url_map.iter_rules() if r.endpoint == "notes.count")
    client = app.test_client()
    own = await client.get("/guilds/7/notes/api/count")
    alias = await client.get("/v1/7/notes/count")
    page_alias = await client.get("/v1/7/notes/")
    mount.remove("notes")
    gone = await client.get("/v1/7/notes/count")

    assert rules == ["/guilds/<int:guild_id>/notes/api/count", "/v1/<int:guild_id>/notes/count"]
    assert (own.status_code, alias.status_code, page_alias.status_code) == (200, 200, 404)
    assert await own.get_json() == await alias.get_json() == {"guild": 7}
    assert gone.status_code == 404
    assert not any(r.endpoint.startswith("notes.") for r in app.url_map.iter_rules())
