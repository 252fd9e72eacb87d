"""The config plugin's broadcast hooks, bound to its settings service (registered with ``plugin.register``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.plugin import hookimpl

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .service import ConfigService


class ConfigHooks:
    """Answers settings lookups from the database and forgets cached settings when they change anywhere."""

    def __init__(self, service: ConfigService) -> None:
        self.service = service

    @hookimpl
    def omo_resolve_settings(self, guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
        """The cached instance on a hit (no database round trip, no awaitable), an awaitable on a miss,
        None for a plugin that is not running here (see :meth:`ConfigService.resolve`)."""
        return self.service.resolve(guild_id, plugin, model, defaults)

    @hookimpl(tryfirst=True)
    def omo_settings_changed(self, guild_id: int, plugin: str) -> None:
        """First in line, in every process: the other implementations already read the new values."""
        self.service.invalidate(guild_id, plugin)
