"""Every hookspec is documented in docs/plugins.md and exercised by a plugin through the real runtime."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from core import hookspecs
from core.demo import build_world, setup_plugins
from core.plugin_host import call_plugin_hook
from tests.sample_plugins import allhooks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
SPECS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("omo_"))


def test_every_hookspec_has_a_docstring() -> None:
    missing = [name for name in SPECS if not (getattr(hookspecs, name).__doc__ or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", SPECS)
def test_hookspec_is_documented_in_the_plugin_guide(name: str) -> None:
    headings = re.findall(r"^#+\s+`?(omo_\w+)", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert name in headings, f"docs/plugins.md has no heading for {name}"


def test_sample_plugin_implements_every_hookspec() -> None:
    assert sorted(n for n in dir(allhooks) if n.startswith("omo_")) == SPECS


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"allhooks": {"module": "tests.sample_plugins.allhooks"}}


async def test_every_hook_is_called_by_the_runtime(runtime: Any, guild: Any, emulator: Any) -> None:
    loaded = runtime.host.loaded("allhooks")
    world = build_world(emulator, members=1)
    failed = await setup_plugins(runtime, world)
    total = await loaded.context.call_hook(
        "omo_award_points", guild_id=guild.id, user_id=5, points=3, reason="test", source="allhooks", key="k1"
    )
    nav = await call_plugin_hook(loaded.module, "omo_nav_items", plugin=loaded.context, guild_id=guild.id)
    status = await call_plugin_hook(loaded.module, "omo_guild_status", plugin=loaded.context, guild_id=guild.id)
    answered = await runtime.settings.get(42, "allhooks")
    fallback = await runtime.settings.get(7, "allhooks")
    await runtime.gate.set_enabled(guild.id, "allhooks", False, actor_id=5)
    await runtime.stop()

    called = {name for name, _ in allhooks.CALLS}
    assert called == set(SPECS)
    assert nav[0].label == "All" and status == "all fine"
    assert answered.level == 9 and fallback.level == 3  # firstresult answer, then core's trylast fallback
    assert ("omo_plugin_toggled", (guild.id, "allhooks", False, 5)) in allhooks.CALLS
    assert ("omo_runtime_started", runtime) in allhooks.CALLS
    assert failed == [] and ("omo_demo_setup", world.guild.id) in allhooks.CALLS
    assert total == 3 and ("omo_award_points", (guild.id, 5, 3, "k1")) in allhooks.CALLS
