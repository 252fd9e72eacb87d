"""The mileage plugin's broadcast hooks, bound to its state (registered with ``plugin.register``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.plugin import hookimpl

if TYPE_CHECKING:
    from .state import MileageState

#: Settings whose change can change who should hold which tier role.
ROLE_SETTINGS = frozenset({"tier_mode", "level_a", "level_b", "level_c"})


class MileageHooks:
    """Points from other plugins, and role reconciles after settings changes."""

    def __init__(self, state: MileageState) -> None:
        self.state = state

    @hookimpl
    async def omo_award_points(
        self, guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None
    ) -> int | None:
        """Write the award (idempotent per ``key``) and answer the member's new total; None where mileage is off
        or the guild is not served by this process (a guild lives on one shard)."""
        if self.state.guild(guild_id) is None:
            return None
        return await self.state.award(guild_id, user_id, points, reason, source, key)

    @hookimpl
    def omo_settings_changed(self, guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]]) -> None:
        """A change of the tier mode or the level curve reconciles the guild's roles (in every process: the one
        serving the guild does the work)."""
        if plugin == self.state.plugin.name and ROLE_SETTINGS & set(changes) and self.state.guild(guild_id):
            self.state.roles_changed(guild_id)
