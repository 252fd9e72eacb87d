"""Per-guild settings of plugins, resolved through the ``omo_resolve_settings`` hook.

The config plugin answers from the database; core's own implementation (last in
line) answers with the plugins.toml defaults over the model's defaults, so every
plugin runs on defaults when the config plugin is off. A store that changed
settings announces it (:meth:`SettingsService.announce`): the
``omo_settings_changed`` hook then runs in this process and, through the bus, in
every other process sharing the database.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import BaseModel

from core.plugin import hookimpl

if TYPE_CHECKING:
    from core.bus import Bus
    from core.plugin_host import PluginHost

log = structlog.get_logger("omo.settings")

#: Bus topic of :meth:`SettingsService.announce`.
TOPIC = "settings_changed"


class SettingsService:
    """``await settings.get(guild_id, plugin)`` for core and plugins."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host
        self._bus: Bus | None = None

    def attach_bus(self, bus: Bus) -> None:
        """Run ``omo_settings_changed`` here for changes announced by other processes."""
        self._bus = bus
        bus.subscribe(TOPIC, self._remote_change)

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
        result = await self._host.hooks.first(
            "omo_resolve_settings", guild_id=guild_id, plugin=plugin, model=model, defaults=defaults
        )
        if not isinstance(result, model):
            raise TypeError(f"settings of {plugin!r} resolved to {type(result).__name__}, not {model.__name__}")
        return result

    async def announce(
        self, guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]], actor_id: int | None
    ) -> None:
        """Settings of ``plugin`` in ``guild_id`` were stored: tell the other processes, then run
        ``omo_settings_changed`` here (a raising implementation cannot keep the others from learning of it)."""
        if not changes:
            return
        changes = {str(k): (old, new) for k, (old, new) in changes.items()}
        if self._bus is not None:
            payload = {"guild_id": guild_id, "plugin": plugin, "changes": changes, "actor_id": actor_id}
            await self._bus.publish(TOPIC, payload)
        await self._run_hook(guild_id, plugin, changes, actor_id)

    async def _run_hook(
        self, guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]], actor_id: int | None
    ) -> None:
        await self._host.hooks.broadcast(
            "omo_settings_changed", guild_id=guild_id, plugin=plugin, changes=changes, actor_id=actor_id
        )

    async def _remote_change(self, payload: dict[str, Any]) -> None:
        guild_id, plugin, changes, actor = (payload.get(k) for k in ("guild_id", "plugin", "changes", "actor_id"))
        if not (isinstance(guild_id, int) and isinstance(plugin, str) and isinstance(changes, dict)):
            log.warning("malformed settings_changed message", payload=str(payload)[:200])
            return
        pairs = {str(k): tuple(v) if isinstance(v, list) and len(v) == 2 else (None, v) for k, v in changes.items()}
        await self._run_hook(guild_id, plugin, pairs, actor if isinstance(actor, int) else None)  # type: ignore[arg-type]


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
