"""The config plugin's broadcast hooks, bound to its settings service (registered with ``plugin.register``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.plugin import hookimpl

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .service import ConfigService


class ConfigHooks:
    """Answers settings lookups from the database, forgets cached settings when they change anywhere, and
    tells the dashboard where each plugin's settings page is (``is_on``: config is on in that guild)."""

    def __init__(self, service: ConfigService, is_on: Callable[[int], bool]) -> None:
        self.service = service
        self.is_on = is_on

    @hookimpl
    def omo_resolve_settings(self, guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
        """The cached instance on a hit (no database round trip, no awaitable), an awaitable on a miss,
        None for a plugin that is not running here (see :meth:`ConfigService.resolve`)."""
        return self.service.resolve(guild_id, plugin, model, defaults)

    @hookimpl
    def omo_settings_url(self, guild_id: int, plugin: str) -> str | None:
        """The settings page of ``plugin`` in ``guild_id``, while config is on there (the overview links to it)."""
        if not self.is_on(guild_id) or plugin not in self.service.plugins_with_settings():
            return None
        return f"/guilds/{guild_id}/config/{plugin}"

    @hookimpl(tryfirst=True)
    def omo_settings_changed(self, guild_id: int, plugin: str) -> None:
        """First in line, in every process: the other implementations already read the new values."""
        self.service.invalidate(guild_id, plugin)
