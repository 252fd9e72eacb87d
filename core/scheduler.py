"""Background work, owned by plugins: unload and reload cancel exactly that plugin's tasks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import structlog

log = structlog.get_logger("omo.scheduler")

GuildSource = Callable[[], Iterable[int]]


class Scheduler:
    """Runs periodic and long-lived jobs keyed by ``(plugin, name)``."""

    def __init__(self) -> None:
        self._tasks: dict[str, dict[str, asyncio.Task[None]]] = {}
        self._accepting = True
        self._busy: set[asyncio.Task[Any]] = set()
        self.runs: dict[tuple[str, str], int] = {}
        self.failures: dict[tuple[str, str], int] = {}

    def jobs(self, plugin: str | None = None) -> list[tuple[str, str]]:
        """``(plugin, name)`` of every live job, optionally of one plugin."""
        return [
            (p, n)
            for p, jobs in self._tasks.items()
            if plugin in (None, p)
            for n, task in jobs.items()
            if not task.done()
        ]

    def _add(self, plugin: str, name: str, coro: Coroutine[Any, Any, None]) -> None:
        if not self._accepting:
            raise RuntimeError("the scheduler is shutting down")
        jobs = self._tasks.setdefault(plugin, {})
        if name in jobs and not jobs[name].done():
            coro.close()
            raise ValueError(f"plugin {plugin!r} already has a job named {name!r}")
        jobs[name] = asyncio.get_running_loop().create_task(coro, name=f"omo:{plugin}:{name}")

    async def _run_once(self, plugin: str, name: str, job: Callable[..., Awaitable[None]], *args: Any) -> None:
        key = (plugin, name)
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        with structlog.contextvars.bound_contextvars(plugin=plugin, job=name, **_guild_ctx(args)):
            try:
                await job(*args)
                self.runs[key] = self.runs.get(key, 0) + 1
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures[key] = self.failures.get(key, 0) + 1
                log.exception("job failed", plugin=plugin, job=name)
            finally:
                if task is not None:
                    self._busy.discard(task)
        if not self._accepting:
            raise asyncio.CancelledError

    def every(
        self,
        plugin: str,
        name: str,
        seconds: float,
        job: Callable[..., Awaitable[None]],
        *,
        per_guild: bool = False,
        guilds: GuildSource | None = None,
        initial_delay: float | None = None,
    ) -> None:
        """Run ``job`` every ``seconds``; with ``per_guild``, once per guild that ``guilds`` yields."""
        if seconds <= 0:
            raise ValueError("interval must be positive")
        if per_guild and guilds is None:
            raise ValueError("per_guild jobs need a guild source")

        async def loop() -> None:
            await asyncio.sleep(random.uniform(0, min(seconds, 1.0)) if initial_delay is None else initial_delay)
            while True:
                if per_guild:
                    assert guilds is not None
                    try:
                        targets = list(guilds())
                    except Exception:
                        log.exception("listing the guilds of a per-guild job failed", plugin=plugin, job=name)
                        targets = []
                    for guild_id in targets:
                        await self._run_once(plugin, name, job, guild_id)
                else:
                    await self._run_once(plugin, name, job)
                await asyncio.sleep(seconds)

        self._add(plugin, name, loop())

    def run_forever(self, plugin: str, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` until cancelled; if it returns or raises it is restarted with backoff."""

        async def loop() -> None:
            delay = 1.0
            while True:
                await self._run_once(plugin, name, job)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300.0)

        self._add(plugin, name, loop())

    async def cancel_plugin(self, plugin: str) -> int:
        """Cancel and await every job of ``plugin``; return how many were running."""
        jobs = self._tasks.pop(plugin, {})
        live = [task for task in jobs.values() if not task.done()]
        for task in live:
            task.cancel()
        if live:
            await asyncio.gather(*live, return_exceptions=True)
        return len(live)

    def detach(self, plugin: str) -> dict[str, asyncio.Task[None]]:
        """Take ``plugin``'s jobs out of the scheduler without stopping them (reload staging)."""
        return self._tasks.pop(plugin, {})

    def attach(self, plugin: str, jobs: dict[str, asyncio.Task[None]]) -> None:
        """Give back jobs taken with :meth:`detach` (reload rollback)."""
        self._tasks.setdefault(plugin, {}).update(jobs)

    async def shutdown(self, grace: float = 4.0) -> None:
        """Stop accepting jobs; let runs in progress finish for up to ``grace`` seconds; cancel the rest."""
        self._accepting = False
        tasks = [t for jobs in self._tasks.values() for t in jobs.values() if not t.done()]
        for task in tasks:
            if task not in self._busy:
                task.cancel()
        busy = [t for t in tasks if t in self._busy]
        if busy:
            _done, late = await asyncio.wait(busy, timeout=grace)
            for task in late:
                log.warning("job still running at shutdown, cancelled", task=task.get_name())
                task.cancel()
        for plugin in list(self._tasks):
            await self.cancel_plugin(plugin)


def _guild_ctx(args: tuple[Any, ...]) -> dict[str, Any]:
    return {"guild_id": args[0]} if args and isinstance(args[0], int) else {}


async def cancel_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel and await ``tasks``."""
    live = [t for t in tasks if not t.done()]
    for task in live:
        task.cancel()
    if live:
        await asyncio.gather(*live, return_exceptions=True)
