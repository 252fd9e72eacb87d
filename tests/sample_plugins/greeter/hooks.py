from __future__ import annotations

from typing import Any

from core.plugin import hookimpl

from .service import GreeterService


class GreeterHooks:
    """Broadcast hooks that need the plugin's state, registered with ``plugin.register``."""

    def __init__(self, service: GreeterService) -> None:
        self.service = service

    @hookimpl
    def omo_settings_changed(self, guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]]) -> None:
        if plugin == "greeter" and "greeting" in changes:
            self.service.reset(guild_id)  # a new greeting starts a new count (in every process)
