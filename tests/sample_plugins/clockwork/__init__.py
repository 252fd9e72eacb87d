"""A test plugin with one job of each kind; tests pick the jobs and read what ran in ``clockwork_state``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pydantic import BaseModel

from core.plugin import PluginContext, PluginInfo, hookimpl
from tests.sample_plugins import clockwork_state as state


class ClockworkSettings(BaseModel):
    timezone: str = "UTC"


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1.0", description="scheduler test plugin", settings=ClockworkSettings)


@hookimpl
def omo_resolve_settings(guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
    if plugin == "clockwork" and guild_id in state.ZONES:
        return ClockworkSettings(timezone=state.ZONES[guild_id])
    return None


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    if not state.JOBS:
        state.JOBS.update(j for j in os.environ.get("CLOCKWORK_JOBS", "").split(",") if j)

    def recorder(job: str) -> Any:
        async def run(guild_id: int | None = None) -> None:
            state.RUNS.append((job, guild_id, plugin.runtime.scheduler.clock.now(), plugin.runtime.scheduler.holder))
            if guild_id in state.FAILING:
                raise RuntimeError(f"{job} failed in {guild_id} on purpose")

        run.__name__ = job
        return run

    async def slow(guild_id: int) -> None:
        state.ACTIVE["now"] += 1
        state.ACTIVE["peak"] = max(state.ACTIVE["peak"], state.ACTIVE["now"])
        try:
            await state.RELEASE.wait()
        finally:
            state.ACTIVE["now"] -= 1
        state.RUNS.append(("slow", guild_id, plugin.runtime.scheduler.clock.now(), plugin.runtime.scheduler.holder))

    if "digest" in state.JOBS:
        plugin.daily(recorder("digest"), at="09:00", per_guild=True)
    if "sweep" in state.JOBS:
        plugin.cron("*/5 * * * *", recorder("sweep"), tz="UTC")
    if "poll" in state.JOBS:
        plugin.every(60, recorder("poll"), exclusive=True, initial_delay=0)
    if "watch" in state.JOBS:
        watch = recorder("watch")

        async def watcher() -> None:
            await watch()
            await asyncio.Event().wait()  # holds on until cancelled

        plugin.run_forever(watcher, name="watch", exclusive=True)
    if "slow" in state.JOBS:
        plugin.every(3600, slow, per_guild=True, concurrency=2, initial_delay=3600)
