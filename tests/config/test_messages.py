"""A refused value is told in one plain sentence, once, with a long value cut short."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from plugins.config.messages import plain
from plugins.config.service import FieldError
from tests.config.helpers import ECHO, TYPED


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


def test_plain_drops_pydantics_reason_and_cuts_the_value() -> None:
    empty = FieldError("greeting", "'' is not allowed (string should have at least 1 character)", "text of 1 to 20")
    long = FieldError("greeting", f"'{'y' * 120}' is not allowed (string should have at most 20 characters)", "text")
    custom = FieldError("every", f"'{'z' * 90}' is not a duration", "a duration like 5m")

    assert plain(empty) == "This cannot be empty: expected text of 1 to 20."
    assert plain(long) == f"'{'y' * 39}…' is not allowed: expected text."
    assert plain(custom) == f"'{'z' * 39}…' is not a duration: expected a duration like 5m."


async def test_config_set_reply_cuts_a_long_value_and_reads_as_a_sentence(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Member
) -> None:
    value = "w" * 120
    answer = await emulator.invoke(
        admin, emulator.general(guild), "config set", plugin="typed", key="greeting", value=value
    )

    assert value not in answer.content and "…" in answer.content
    assert "string should have" not in answer.content
    assert "expected text of 1 to 20 characters." in answer.content


async def test_the_form_shows_each_error_once(runtime: Any, guild: Guild, admin: Member, web_login: Any) -> None:
    client = await web_login(runtime, admin)

    page = await client.form(f"/guilds/{guild.id}/config/typed", {"greeting": "", "limit": "10"})

    assert page.status_code == 400
    assert page.text.count("This cannot be empty: expected text of 1 to 20 characters.") == 1
    assert "string should have" not in page.text
