"""A test plugin whose settings use a type the config plugin cannot edit (a dict)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.plugin import PluginInfo, hookimpl


class OddSettings(BaseModel):
    """``weights`` has no editor."""

    weights: dict[str, int] = Field(default_factory=lambda: {"a": 1})
    name: str = "odd"


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1.0", description="odd settings", settings=OddSettings)
