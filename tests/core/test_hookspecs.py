"""Every hookspec is documented in docs/plugins.md and exercised, with a sync and an async implementation,
through the real runtime; a raising implementation is isolated and named."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import structlog.testing

from core import hookspecs
from core.demo import build_world, setup_plugins
from core.hooks import HookError
from core.plugin_host import call_plugin_hook
from core.testing.pytest_plugin import eventually
from tests.core.conftest import PluginWriter, section
from tests.sample_plugins import allhooks, allhooks_async
from webadmin import dashboard

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
SPECS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("omo_"))
BOTH = {
    "allhooks": {"module": "tests.sample_plugins.allhooks"},
    "allhooks_async": {"module": "tests.sample_plugins.allhooks_async"},
}


def test_every_hookspec_has_a_docstring() -> None:
    missing = [name for name in SPECS if not (getattr(hookspecs, name).__doc__ or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", SPECS)
def test_hookspec_is_documented_in_the_plugin_guide(name: str) -> None:
    headings = re.findall(r"^#+\s+`?(omo_\w+)", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert name in headings, f"docs/plugins.md has no heading for {name}"


@pytest.mark.parametrize("module", [allhooks, allhooks_async])
def test_sample_plugins_implement_every_hookspec(module: ModuleType) -> None:
    assert sorted(n for n in dir(module) if n.startswith("omo_")) == SPECS


def test_the_async_sample_is_async_wherever_a_hook_may_be() -> None:
    sync = [n for n in SPECS if not inspect.iscoroutinefunction(getattr(allhooks_async, n))]
    assert sync == ["omo_plugin_info"]  # read at import time, the one hook that must answer at once
    assert [n for n in SPECS if inspect.iscoroutinefunction(getattr(allhooks, n))] == []


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return dict(BOTH)


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    allhooks.CALLS.clear()
    allhooks_async.CALLS.clear()


def _called(module: ModuleType) -> set[str]:
    return {name for name, _ in module.CALLS}


async def test_every_hook_sync_and_async_is_called_and_awaited_by_the_runtime(
    runtime: Any, guild: Any, emulator: Any
) -> None:
    sync, asyn = runtime.host.loaded("allhooks"), runtime.host.loaded("allhooks_async")
    world = build_world(emulator, members=1)
    failed = await setup_plugins(runtime, world)
    cards = {card.name: [link.label for link in card.links] for card in await dashboard.plugin_cards(runtime, guild.id)}
    routes = set(runtime.app.view_functions)
    nav = [await call_plugin_hook(p.module, "omo_nav_items", plugin=p.context, guild_id=guild.id) for p in (sync, asyn)]
    status = [
        await call_plugin_hook(p.module, "omo_guild_status", plugin=p.context, guild_id=guild.id) for p in (sync, asyn)
    ]
    by_sync = await runtime.settings.get(42, "allhooks")  # the async one answers None first or after
    by_async = await runtime.settings.get(43, "allhooks")  # the async one answers
    fallback = await runtime.settings.get(7, "allhooks")  # both None: core's trylast fallback
    awarded = [
        await sync.context.call_hook(
            "omo_award_points", guild_id=gid, user_id=1, points=10, reason="r", source="allhooks", key=None
        )
        for gid in (42, 43, 7)
    ]
    await runtime.gate.set_enabled(guild.id, "allhooks", False, actor_id=5)
    await sync.context.settings_changed(guild.id, "allhooks", {"level": (3, 4)}, 6)
    await runtime.stop()

    assert _called(allhooks) == set(SPECS) and _called(allhooks_async) == set(SPECS)
    assert sync.context.state == {"kind": "sync"} and asyn.context.state == {"kind": "async"}
    assert ("omo_cogs", "sync") in allhooks.CALLS and ("omo_cogs", "async") in allhooks_async.CALLS
    assert ("omo_setup", "async") in allhooks_async.CALLS
    assert {"allhooks.index", "allhooks_async.index"} <= routes
    assert [n[0].label for n in nav] == ["All", "Async"] and status == ["all fine", "async fine"]
    assert (by_sync.level, by_async.level, fallback.level) == (9, 8, 3)
    assert awarded == [11, 12, None]
    assert cards == {"allhooks": ["All"], "allhooks_async": ["Async", "Settings"]}  # no link twice
    assert failed == []
    for module in (allhooks, allhooks_async):
        assert ("omo_plugin_toggled", (guild.id, "allhooks", False, 5)) in module.CALLS
        assert ("omo_settings_changed", (guild.id, "allhooks", {"level": (3, 4)}, 6)) in module.CALLS
        assert ("omo_runtime_started", runtime) in module.CALLS
        assert ("omo_demo_setup", world.guild.id) in module.CALLS


async def test_a_reloaded_plugin_gets_the_historic_hook_again(runtime: Any) -> None:
    try:
        await runtime.host.reload("allhooks_async")
    finally:  # the other tests record into the module imported above
        fresh = sys.modules["tests.sample_plugins.allhooks_async"]
        sys.modules["tests.sample_plugins.allhooks_async"] = allhooks_async

    assert fresh is not allhooks_async
    assert ("omo_runtime_started", runtime) in fresh.CALLS


BOOM = """
from core.plugin import PluginInfo, hookimpl


@hookimpl
def omo_plugin_info():
    return PluginInfo(version="1")


@hookimpl
async def omo_plugin_toggled(guild_id, plugin, enabled, actor_id):
    raise RuntimeError("toggle hook exploded")


@hookimpl
def omo_settings_changed(guild_id, plugin, changes, actor_id):
    raise RuntimeError("settings hook exploded")


@hookimpl(tryfirst=True)
async def omo_award_points(guild_id, user_id, points, reason, source, key):
    if guild_id == 13:
        raise RuntimeError("points hook exploded")
    return None
"""


def _boom(plugin_writer: PluginWriter) -> str:
    module = f"dyn_boom_{plugin_writer.root.name}"
    (plugin_writer.root / module).mkdir()
    (plugin_writer.root / module / "__init__.py").write_text(BOOM)
    return module


def _failures(logs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["hook"], e["plugin"]) for e in logs if e.get("event") == "hook failed"]


async def test_a_raising_implementation_is_logged_with_its_plugin_and_the_others_still_run(
    runtime_factory: Any, plugin_writer: PluginWriter, guild: Any
) -> None:
    runtime = await runtime_factory({**BOTH, "boom": section(_boom(plugin_writer))})
    context = runtime.host.loaded("allhooks").context

    with structlog.testing.capture_logs() as logs:
        await runtime.gate.set_enabled(guild.id, "allhooks", False, actor_id=5)
        await context.settings_changed(guild.id, "allhooks", {"level": (3, 4)}, None)
        with pytest.raises(HookError, match="boom"):
            await context.call_hook(
                "omo_award_points", guild_id=13, user_id=1, points=1, reason="r", source="allhooks", key=None
            )

    assert not runtime.gate.is_enabled(guild.id, "allhooks")  # stored, whatever the hooks did
    for module in (allhooks, allhooks_async):
        assert ("omo_plugin_toggled", (guild.id, "allhooks", False, 5)) in module.CALLS
        assert ("omo_settings_changed", (guild.id, "allhooks", {"level": (3, 4)}, None)) in module.CALLS
    assert _failures(logs) == [
        ("omo_plugin_toggled", "boom"),
        ("omo_settings_changed", "boom"),
        ("omo_award_points", "boom"),
    ]


@pytest.mark.postgres
async def test_a_switch_reaches_the_other_process_even_when_a_local_hook_raises(
    runtime_factory: Any, plugin_writer: PluginWriter, guild: Any
) -> None:
    plugins = {**BOTH, "boom": section(_boom(plugin_writer))}
    first = await runtime_factory(plugins)
    second = await runtime_factory(plugins, connect=False)

    await first.gate.set_enabled(guild.id, "allhooks", False, actor_id=5)

    await eventually(lambda: not second.gate.is_enabled(guild.id, "allhooks"), what="the switch in the other process")
    toggled = ("omo_plugin_toggled", (guild.id, "allhooks", False, 5))
    await eventually(lambda: allhooks_async.CALLS.count(toggled) == 2, what="the async hook in both processes")
