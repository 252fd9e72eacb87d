"""Per-guild settings of plugins, resolved through the ``omo_resolve_settings`` hook.

The config plugin answers from the database; core's own implementation (last in
line) answers with the plugins.toml defaults over the model's defaults, so every
plugin runs on defaults when the config plugin is off.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from core.plugin import hookimpl

if TYPE_CHECKING:
    from core.plugin_host import PluginHost


class SettingsService:
    """``await settings.get(guild_id, plugin)`` for core and plugins."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host

    def model_of(self, plugin: str) -> type[BaseModel] | None:
        """The settings model a plugin declared, or None."""
        loaded = self._host.loaded(plugin)
        return loaded.info.settings if loaded else None

    async def get(self, guild_id: int, plugin: str) -> BaseModel:
        """Settings of ``plugin`` in ``guild_id`` as an instance of its model."""
        model = self.model_of(plugin)
        if model is None:
            raise LookupError(f"plugin {plugin!r} has no settings")
        defaults = self._host.defaults_of(plugin)
        result: Any = self._host.pm.hook.omo_resolve_settings(
            guild_id=guild_id, plugin=plugin, model=model, defaults=defaults
        )
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, model):
            raise TypeError(f"settings of {plugin!r} resolved to {type(result).__name__}, not {model.__name__}")
        return result


class DefaultSettings:
    """Core's fallback for ``omo_resolve_settings``: plugins.toml defaults over the model's defaults."""

    def __init__(self) -> None:
        self._cache: dict[tuple[type[BaseModel], str], BaseModel] = {}

    @hookimpl(trylast=True)
    def omo_resolve_settings(
        self, guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]
    ) -> BaseModel:
        """Answer with ``model(**defaults)`` (cached: models are treated as immutable)."""
        key = (model, json.dumps(defaults, sort_keys=True, default=str))
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = model.model_validate(defaults)
        return cached
