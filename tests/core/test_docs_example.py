"""The complete plugin in docs/plugins.md is tests/sample_plugins/greeter, file for file, and it works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.emulator.permissions import MANAGE_GUILD
from plugins.config.service import Actor
from tests.config.helpers import service

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "sample_plugins" / "greeter"
BLOCK = re.compile(r"```python\n# plugins/greeter/(\S+)\n(.*?)```", re.DOTALL)


def test_the_guide_shows_every_file_of_the_example_as_it_is() -> None:
    shown = dict(BLOCK.findall((ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")))

    assert sorted(shown) == sorted(p.name for p in EXAMPLE.glob("*.py"))
    for name, text in shown.items():
        assert text == (EXAMPLE / name).read_text(encoding="utf-8"), f"docs/plugins.md shows another {name}"


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "greeter": {"module": "tests.sample_plugins.greeter", "settings": {"greeting": "Hi"}}}


async def test_the_example_greets_counts_shows_its_page_and_restarts_the_count_on_a_new_greeting(
    emulator: Emulator, guild: Guild, runtime: Any, web_login: Any
) -> None:
    managers = emulator.create_role(guild, "Managers", permissions=MANAGE_GUILD)
    alice = emulator.create_member(guild, "alice", roles=[managers])
    general = emulator.general(guild)

    first = await emulator.invoke(alice, general, "greet")
    second = await emulator.invoke(alice, general, "greet")
    page = (await (await web_login(runtime, alice)).get(f"/guilds/{guild.id}/greeter/")).text
    await service(runtime).set_values(guild.id, "greeter", {"greeting": "Hey", "shout": True}, Actor(alice.user_id))
    after = await emulator.invoke(alice, general, "greet")

    assert (first.content, second.content) == ("Hi, alice! (greeting #1)", "Hi, alice! (greeting #2)")
    assert page == "Hi alice: 2 greetings with “Hi” here."
    assert after.content == "HEY, ALICE! (GREETING #1)"
