"""One settings service and one settings resolver per runtime (tests run several runtimes in one process)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.plugin import hookimpl

from .service import TOPIC, ConfigService

if TYPE_CHECKING:
    from pydantic import BaseModel

    from core.runtime import Runtime

_services: weakref.WeakKeyDictionary[Any, ConfigService] = weakref.WeakKeyDictionary()
_resolvers: weakref.WeakKeyDictionary[Any, SettingsResolver] = weakref.WeakKeyDictionary()
_listeners: weakref.WeakKeyDictionary[Any, Callable[[dict[str, Any]], None]] = weakref.WeakKeyDictionary()


def service_for(runtime: Runtime) -> ConfigService:
    """The settings service of ``runtime`` (created on first use)."""
    service = _services.get(runtime)
    if service is None:
        service = _services[runtime] = ConfigService(runtime)
    return service


class SettingsResolver:
    """Answers ``omo_resolve_settings`` for one runtime: the cached instance on a hit (no database
    round trip, no awaitable), an awaitable on a miss, None for plugins it does not know."""

    def __init__(self, service: ConfigService) -> None:
        self.service = service

    @hookimpl
    def omo_resolve_settings(self, guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
        """See :meth:`ConfigService.resolve`."""
        return self.service.resolve(guild_id, plugin, model, defaults)

    @hookimpl
    def omo_settings_url(self, guild_id: int, plugin: str) -> str | None:
        """This plugin's settings page in ``guild_id`` while config is on there."""
        runtime = self.service._runtime
        if not runtime.gate.is_enabled(guild_id, "config") or runtime.settings.model_of(plugin) is None:
            return None
        return f"/guilds/{guild_id}/config/{plugin}"


def start(runtime: Runtime) -> None:
    """Answer settings lookups of ``runtime`` from the database and follow changes made by other processes."""
    service = service_for(runtime)
    service.closed = False
    resolver = _resolvers[runtime] = SettingsResolver(service)
    runtime.host.pm.register(resolver, name="config.resolver")

    def on_change(payload: dict[str, Any]) -> None:
        current = _services.get(runtime)
        if current is not None and not current.closed:
            current.on_remote_change(payload)

    _listeners[runtime] = on_change
    runtime.bus.subscribe(TOPIC, on_change)


def stop(runtime: Runtime) -> None:
    """Undo :func:`start`: settings fall back to core's defaults."""
    service = _services.pop(runtime, None)
    if service is not None:
        service.closed = True
    resolver = _resolvers.pop(runtime, None)
    if resolver is not None and runtime.host.pm.is_registered(resolver):
        runtime.host.pm.unregister(resolver)
    listener = _listeners.pop(runtime, None)
    if listener is not None:
        runtime.bus.unsubscribe(TOPIC, listener)
