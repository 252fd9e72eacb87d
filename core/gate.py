"""Per-guild plugin switches: one source of truth for every entry path.

App commands, prefix commands, listeners, per-guild jobs and web routes all ask
:meth:`Gate.is_enabled`; it answers from memory (loaded at start, updated on
every change, and across processes through the bus), so the hot path costs no
database round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import structlog

from core.db import retrying
from core.models import GuildPluginState

if TYPE_CHECKING:
    from core.bus import Bus

log = structlog.get_logger("omo.gate")

TOPIC = "plugin_toggle"


class Gate:
    """In-memory view of :class:`~core.models.GuildPluginState` with the plugins' guild defaults."""

    def __init__(
        self,
        guild_default: Callable[[str], bool],
        known_guilds: Callable[[], Iterable[int]] = tuple,
        on_change: Callable[[int, str, bool, int | None], Awaitable[None]] | None = None,
    ) -> None:
        self._states: dict[tuple[int, str], bool] = {}
        self._guild_default = guild_default
        self._known_guilds = known_guilds
        self._on_change = on_change
        self._bus: Bus | None = None

    async def load(self) -> int:
        """Read every stored switch; return how many there are."""
        rows = await retrying(
            lambda: GuildPluginState.all().values_list("guild_id", "plugin", "enabled"), what="loading plugin switches"
        )
        self._states = {(int(g), str(p)): bool(e) for g, p, e in rows}
        return len(self._states)

    def attach_bus(self, bus: Bus) -> None:
        """Receive switches changed by other processes."""
        self._bus = bus
        bus.subscribe(TOPIC, self._remote_change)

    def is_enabled(self, guild_id: int, plugin: str) -> bool:
        """Whether ``plugin`` is on in ``guild_id`` (its guild default when never switched)."""
        state = self._states.get((guild_id, plugin))
        return self._guild_default(plugin) if state is None else state

    def explicit(self, guild_id: int, plugin: str) -> bool | None:
        """The stored switch, or None when the guild never switched ``plugin``."""
        return self._states.get((guild_id, plugin))

    def guilds_enabled(self, plugin: str) -> list[int]:
        """Guilds the bot is in where ``plugin`` is on."""
        return [g for g in self._known_guilds() if self.is_enabled(g, plugin)]

    def count_enabled(self, plugin: str) -> int:
        """How many of the bot's guilds use ``plugin``."""
        return len(self.guilds_enabled(plugin))

    async def set_enabled(self, guild_id: int, plugin: str, enabled: bool, actor_id: int | None = None) -> None:
        """Store the switch, apply it here at once and tell the other processes."""

        async def write() -> None:
            await GuildPluginState.update_or_create(
                defaults={"enabled": enabled, "actor_id": actor_id}, guild_id=guild_id, plugin=plugin
            )

        await retrying(write, what="saving a plugin switch")
        changed = self._store(guild_id, plugin, enabled)
        log.info("plugin switched", guild_id=guild_id, plugin=plugin, enabled=enabled, actor_id=actor_id)
        if self._bus is not None:  # before the local hooks: one that raises cannot keep the others uninformed
            await self._bus.publish(
                TOPIC, {"guild_id": guild_id, "plugin": plugin, "enabled": enabled, "actor_id": actor_id}
            )
        if changed and self._on_change is not None:
            await self._on_change(guild_id, plugin, enabled, actor_id)

    def _store(self, guild_id: int, plugin: str, enabled: bool) -> bool:
        """Apply the switch in memory; whether it changed anything."""
        changed = self.is_enabled(guild_id, plugin) != enabled
        self._states[(guild_id, plugin)] = enabled
        return changed

    async def _remote_change(self, payload: dict[str, object]) -> None:
        guild_id, plugin, enabled = payload.get("guild_id"), payload.get("plugin"), payload.get("enabled")
        actor = payload.get("actor_id")
        if not (isinstance(guild_id, int) and isinstance(plugin, str) and isinstance(enabled, bool)):
            log.warning("malformed plugin_toggle message", payload=str(payload)[:200])
            return
        if self._store(guild_id, plugin, enabled) and self._on_change is not None:
            await self._on_change(guild_id, plugin, enabled, actor if isinstance(actor, int) else None)
