"""What a plugin registers through its PluginContext (hook objects, bus subscriptions) is swapped on reload
and undone on disable; a reload asked of one process reaches every process on the same PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.pytest_plugin import eventually
from tests.core import probe
from tests.core.conftest import PluginWriter, section

SURFACE = """
from core.plugin import PluginContext, PluginInfo, hookimpl
from tests.core import probe

VERSION = {version!r}


class Hooks:
    def __init__(self, plugin: PluginContext) -> None:
        self.plugin = plugin

    @hookimpl
    async def omo_plugin_toggled(self, guild_id: int, plugin: str, enabled: bool) -> None:
        probe.record("toggled", self.plugin.state["version"], guild_id, enabled)


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version=VERSION)


@hookimpl
def omo_state(plugin: PluginContext) -> dict[str, str]:
    return {{"version": VERSION}}


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    plugin.register(Hooks(plugin))

    async def on_ping(payload: dict) -> None:
        probe.record("ping", plugin.state["version"], payload["n"])

    plugin.subscribe("ping", on_ping)
"""


def write_surface(plugin_writer: PluginWriter, version: str, module: str | None = None) -> str:
    module = module or f"dyn_surface_{plugin_writer.root.name}"
    (plugin_writer.root / module).mkdir(exist_ok=True)
    (plugin_writer.root / module / "__init__.py").write_text(SURFACE.format(version=version))
    return module


async def test_registered_hook_objects_are_swapped_on_reload_and_removed_on_disable(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = write_surface(plugin_writer, "1")
    runtime = await runtime_factory({"surface": section(module)}, connect=False)

    await runtime.gate.set_enabled(1, "surface", False)
    write_surface(plugin_writer, "2", module)
    await runtime.host.reload("surface")
    await runtime.gate.set_enabled(2, "surface", False)
    await runtime.host.disable("surface")
    await runtime.gate.set_enabled(3, "surface", False)

    assert probe.of("toggled") == [("toggled", "1", 1, False), ("toggled", "2", 2, False)]
    assert runtime.host.pm.hook.omo_plugin_toggled.get_hookimpls() == []


@pytest.mark.postgres  # processes share reloads and bus messages through PostgreSQL LISTEN/NOTIFY
async def test_reload_and_subscriptions_reach_every_process(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    module = write_surface(plugin_writer, "1")
    first = await runtime_factory({"surface": section(module)}, connect=False)
    second = await runtime_factory({"surface": section(module)}, connect=False)
    sender = first.host.loaded("surface").context

    await sender.publish("ping", {"n": 1})
    await eventually(lambda: ("ping", "1", 1) in probe.EVENTS, what="v1 receiving the first ping")
    write_surface(plugin_writer, "2", module)
    await first.host.reload("surface")  # asked of the first process only
    await eventually(lambda: second.host.records["surface"].version == "2", what="the reload in the other process")
    await first.host.loaded("surface").context.publish("ping", {"n": 2})
    await eventually(lambda: ("ping", "2", 2) in probe.EVENTS, what="v2 receiving the second ping")
    await second.host.disable("surface")
    await first.host.loaded("surface").context.publish("ping", {"n": 3})
    await first.gate.set_enabled(4, "surface", False)  # travels after the ping: once it arrived, so did the ping
    await eventually(lambda: not second.gate.is_enabled(4, "surface"), what="the switch after the third ping")

    assert [e for e in probe.of("ping")] == [("ping", "1", 1), ("ping", "2", 2)]
    assert second.host.records["surface"].reloads == 1


TYPO = """
from core.plugin import PluginInfo, hookimpl


class Hooks:
    @hookimpl
    def omo_setting_changed(self, guild_id: int) -> None:
        pass


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1")


@hookimpl
def omo_setup(plugin) -> None:
    plugin.register(Hooks())
"""


async def test_a_hook_object_with_an_unknown_hook_fails_its_plugin_with_the_name(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = f"dyn_typo_{plugin_writer.root.name}"
    (plugin_writer.root / module).mkdir()
    (plugin_writer.root / module / "__init__.py").write_text(TYPO)
    runtime = await runtime_factory({"typo": section(module)}, connect=False)

    record = runtime.host.records["typo"]
    assert record.state == "failed"
    assert "unknown hook(s) omo_setting_changed" in (record.error or "")
    assert runtime.host.pm.get_plugin("typo") is None
