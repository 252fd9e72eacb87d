"""A plugin whose demo set-up fails: the demo logs it and sets up the other plugins."""

from __future__ import annotations

from typing import Any

from core.plugin import PluginContext, PluginInfo, hookimpl


@hookimpl
def omo_demo_setup(plugin: PluginContext, demo: Any) -> None:
    raise RuntimeError(f"cannot set up {demo.guild.name}")


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1")
