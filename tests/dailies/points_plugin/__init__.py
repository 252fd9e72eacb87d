"""A stand-in points plugin for the dailies tests: implements ``omo_award_points`` like mileage does
(idempotent per key, returns the new total)."""

from __future__ import annotations

from core.plugin import PluginInfo, hookimpl

#: (guild_id, user_id) -> total; key -> points, for the assertions.
totals: dict[tuple[int, int], int] = {}
awards: dict[str, int] = {}


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1.0.0", description="test points")


@hookimpl
async def omo_award_points(guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None) -> int:
    if key is not None and f"{guild_id}:{key}" in awards:
        return totals[(guild_id, user_id)]
    if key is not None:
        awards[f"{guild_id}:{key}"] = points
    totals[(guild_id, user_id)] = totals.get((guild_id, user_id), 0) + points
    return totals[(guild_id, user_id)]
