"""What the clockwork test plugin runs and what it saw: outside the plugin's package, so it survives reloads."""

from __future__ import annotations

import asyncio
from datetime import datetime

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


def reset() -> None:
    """Forget every run and choice (between tests)."""
    JOBS.clear()
    ZONES.clear()
    FAILING.clear()
    RUNS.clear()
    ACTIVE.update(now=0, peak=0)
    global RELEASE
    RELEASE = asyncio.Event()  # an event belongs to the loop of the test that first waits on it


def runs(job: str) -> list[tuple[str, int | None, datetime, str]]:
    """The runs of ``job``."""
    return [r for r in RUNS if r[0] == job]
