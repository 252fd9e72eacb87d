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
