"""A test plugin with one job of each kind; tests pick the jobs in ``JOBS`` and read what ran in ``RUNS``."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from core.plugin import PluginContext, PluginInfo, hookimpl

#: Which of the jobs below ``omo_setup`` registers (a test sets it before starting its runtimes; an ``omo run``
#: child process reads them from ``CLOCKWORK_JOBS``, comma-separated).
JOBS: set[str] = set()
#: Per-guild time zones this plugin's settings answer with (other guilds get plugins.toml's default).
ZONES: dict[int, str] = {}
#: Guilds whose runs raise.
FAILING: set[int] = set()
#: ``(job, guild_id or None, clock time, scheduler holder)`` of every run.
RUNS: list[tuple[str, int | None, datetime, str]] = []
#: Per-guild runs of ``slow`` in progress and the most seen at once; ``slow`` waits for ``RELEASE``.
ACTIVE: dict[str, int] = {"now": 0, "peak": 0}
RELEASE = asyncio.Event()


class ClockworkSettings(BaseModel):
    timezone: str = "UTC"


def reset() -> None:
    """Forget every run and choice (between tests)."""
    JOBS.clear()
    ZONES.clear()
    FAILING.clear()
    RUNS.clear()
    ACTIVE.update(now=0, peak=0)
    RELEASE.clear()


def runs(job: str) -> list[tuple[str, int | None, datetime, str]]:
    """The runs of ``job``."""
    return [r for r in RUNS if r[0] == job]


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1.0", description="scheduler test plugin", settings=ClockworkSettings)


@hookimpl
def omo_resolve_settings(guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> Any:
    if plugin == "clockwork" and guild_id in ZONES:
        return ClockworkSettings(timezone=ZONES[guild_id])
    return None


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    if not JOBS:
        JOBS.update(j for j in os.environ.get("CLOCKWORK_JOBS", "").split(",") if j)

    def recorder(job: str) -> Any:
        async def run(guild_id: int | None = None) -> None:
            RUNS.append((job, guild_id, plugin.runtime.scheduler.clock.now(), plugin.runtime.scheduler.holder))
            if guild_id in FAILING:
                raise RuntimeError(f"{job} failed in {guild_id} on purpose")

        run.__name__ = job
        return run

    async def slow(guild_id: int) -> None:
        ACTIVE["now"] += 1
        ACTIVE["peak"] = max(ACTIVE["peak"], ACTIVE["now"])
        try:
            await RELEASE.wait()
        finally:
            ACTIVE["now"] -= 1
        RUNS.append(("slow", guild_id, plugin.runtime.scheduler.clock.now(), plugin.runtime.scheduler.holder))

    if "digest" in JOBS:
        plugin.daily(recorder("digest"), at="09:00", per_guild=True)
    if "sweep" in JOBS:
        plugin.cron("*/5 * * * *", recorder("sweep"), tz="UTC")
    if "poll" in JOBS:
        plugin.every(60, recorder("poll"), exclusive=True, initial_delay=0)
    if "watch" in JOBS:
        watch = recorder("watch")

        async def watcher() -> None:
            await watch()
            await asyncio.Event().wait()  # holds on until cancelled

        plugin.run_forever(watcher, name="watch", exclusive=True)
    if "slow" in JOBS:
        plugin.every(3600, slow, per_guild=True, concurrency=2, initial_delay=3600)
