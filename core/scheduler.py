"""Background work, owned by plugins: unload and reload cancel exactly that plugin's tasks.

Kinds of job: periodic (:meth:`Scheduler.every`), long-lived (:meth:`Scheduler.run_forever`) and calendar
jobs (:meth:`Scheduler.cron`, of which a daily job is one) whose last fire is kept in the database, so that
a process that was down runs a missed schedule once when it is back. Periodic and long-lived jobs can be
``exclusive``: on PostgreSQL only the process holding the job's lease runs them. The scheduler reads the
time and waits only through its :class:`~core.clock.Clock`.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import uuid
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import structlog
from croniter import croniter

from core import db, job_store
from core.clock import Clock, SystemClock

log = structlog.get_logger("omo.scheduler")

GuildSource = Callable[[], Iterable[int]]
ZoneSource = Callable[[int], Awaitable[tzinfo]]
Job = Callable[..., Awaitable[None]]

#: Longest a calendar job sleeps before it looks again (new guilds, changed time zones, a clock jump).
CALENDAR_RECHECK_SECONDS = 60.0
#: Scope of a calendar job that does not run per guild, in its stored last run.
NO_GUILD = 0
MAX_JOB_NAME = 100
MAX_CRON = 100
MAX_ZONE_NAME = 64
#: How long giving a lease up may take (a database I/O bound, not schedule time).
RELEASE_SECONDS = 2.0


@dataclass
class JobSpec:
    """One registered job: what to call and for whom."""

    plugin: str
    name: str
    func: Job
    per_guild: bool
    guilds: GuildSource | None
    concurrency: int
    #: What a per-guild job waits for before its first pass (the bot knowing its guilds).
    ready: Callable[[], Awaitable[None]] | None = None

    def targets(self) -> list[int]:
        """The guilds to run for now (per-guild jobs)."""
        assert self.guilds is not None
        return list(self.guilds())


class Scheduler:
    """Runs periodic, long-lived and calendar jobs keyed by ``(plugin, name)``."""

    def __init__(self, clock: Clock | None = None, *, lease_seconds: float = 30.0, guild_concurrency: int = 8) -> None:
        #: Read the time only through this (tests swap in a :class:`~core.clock.ManualClock` before start).
        self.clock: Clock = clock or SystemClock()
        #: How long an exclusive job's lease lasts without renewal (the holder renews it every quarter of it).
        self.lease_seconds = lease_seconds
        #: Default bound on how many guilds a per-guild job runs for at the same time.
        self.guild_concurrency = guild_concurrency
        #: This scheduler's name in lease rows: host, process and a random part (two runtimes in one process differ).
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._tasks: dict[str, dict[str, asyncio.Task[None]]] = {}
        self._specs: weakref.WeakKeyDictionary[asyncio.Task[None], JobSpec] = weakref.WeakKeyDictionary()
        #: Live lease keepers per exclusive job (two during a reload), and those holding the lease now.
        self._guards: dict[tuple[str, str], set[asyncio.Task[None]]] = {}
        self._holding: set[asyncio.Task[None]] = set()
        self._marks: dict[tuple[str, str, int], job_store.Mark] = {}
        self._accepting = True
        self._busy: set[asyncio.Task[Any]] = set()
        self._bodies: dict[asyncio.Task[Any], asyncio.Task[None]] = {}
        self.runs: dict[tuple[str, str], int] = {}
        self.failures: dict[tuple[str, str], int] = {}

    # ----------------------------------------------------------------- registry
    def jobs(self, plugin: str | None = None) -> list[tuple[str, str]]:
        """``(plugin, name)`` of every live job, optionally of one plugin."""
        return [
            (p, n)
            for p, jobs in self._tasks.items()
            if plugin in (None, p)
            for n, task in jobs.items()
            if not task.done()
        ]

    def leases_held(self) -> list[tuple[str, str]]:
        """``(plugin, name)`` of the exclusive jobs this process runs now (holding their lease)."""
        return sorted(key for key, guards in self._guards.items() if guards & self._holding)

    def holds_lease(self, plugin: str, name: str) -> bool:
        """Whether this process holds the lease of exclusive job ``name`` of ``plugin`` right now."""
        return any(task in self._holding for task in self._guards.get((plugin, name), ()))

    def _spec(
        self,
        plugin: str,
        name: str,
        job: Job,
        *,
        per_guild: bool = False,
        guilds: GuildSource | None = None,
        concurrency: int | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> JobSpec:
        """A checked job description (ValueError says what is wrong)."""
        if not name or len(name) > MAX_JOB_NAME or not name.isprintable():
            raise ValueError(f"a job name has 1 to {MAX_JOB_NAME} printable characters, not {name[:MAX_JOB_NAME]!r}")
        limit = self.guild_concurrency if concurrency is None else concurrency
        if limit < 1:
            raise ValueError("concurrency must be at least 1")
        if per_guild and guilds is None:
            raise ValueError("per_guild jobs need a guild source")
        return JobSpec(plugin, name, job, per_guild, guilds, limit, ready if per_guild else None)

    def _add(self, spec: JobSpec, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start the task ``make()`` for ``spec`` (refused while shutting down or when the name is taken)."""
        if not self._accepting:
            raise RuntimeError("the scheduler is shutting down")
        jobs = self._tasks.setdefault(spec.plugin, {})
        if spec.name in jobs and not jobs[spec.name].done():
            raise ValueError(f"plugin {spec.plugin!r} already has a job named {spec.name!r}")
        task = asyncio.get_running_loop().create_task(make(), name=f"omo:{spec.plugin}:{spec.name}")
        jobs[spec.name] = task
        self._specs[task] = spec

    # ------------------------------------------------------------------ running
    async def _run_once(self, spec: JobSpec, *args: Any) -> BaseException | None:
        """One call of the job; its error is logged and counted (and returned), never raised."""
        key = (spec.plugin, spec.name)
        with structlog.contextvars.bound_contextvars(plugin=spec.plugin, job=spec.name, **_guild_ctx(args)):
            try:
                await spec.func(*args)
                self.runs[key] = self.runs.get(key, 0) + 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures[key] = self.failures.get(key, 0) + 1
                log.exception("job failed", plugin=spec.plugin, job=spec.name)
                return exc
        return None

    async def _run_batch(self, spec: JobSpec, targets: list[int] | None) -> list[BaseException]:
        """Run ``spec`` once (``targets`` None) or once per guild in ``targets``, at most ``concurrency`` at a time."""
        if targets is None:
            error = await self._run_once(spec)
            return [error] if error is not None else []
        limit = asyncio.Semaphore(spec.concurrency)

        async def one(guild_id: int) -> BaseException | None:
            async with limit:
                return await self._run_once(spec, guild_id)

        results = await asyncio.gather(*(one(g) for g in targets))
        return [e for e in results if e is not None]

    async def _tick(self, spec: JobSpec, targets: list[int] | None) -> None:
        """A scheduled batch: shutdown lets it finish (within its grace) and then ends the job's loop."""
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            await self._run_batch(spec, targets)
        finally:
            if task is not None:
                self._busy.discard(task)
        if not self._accepting:
            raise asyncio.CancelledError

    def _guild_targets(self, spec: JobSpec) -> list[int] | None:
        if not spec.per_guild:
            return None
        try:
            return spec.targets()
        except Exception:
            log.exception("listing the guilds of a per-guild job failed", plugin=spec.plugin, job=spec.name)
            return []

    async def run_now(self, plugin: str, name: str, guild_id: int | None = None) -> None:
        """Run job ``name`` of ``plugin`` at once and wait for it: for ``guild_id``, or for every guild of a per-guild
        job when None. Its schedule, lease and stored last run are left alone. Raises the first error a run raised
        (after every run finished; errors are logged and counted as for scheduled runs)."""
        task = self._tasks.get(plugin, {}).get(name)
        spec = self._specs.get(task) if task is not None else None
        if spec is None:
            raise LookupError(f"plugin {plugin!r} has no job named {name!r}")
        if guild_id is not None and not spec.per_guild:
            raise ValueError(f"job {name!r} is not per guild")
        targets = [guild_id] if guild_id is not None else self._guild_targets(spec)
        errors = await self._run_batch(spec, targets)
        if errors:
            raise errors[0]

    # ---------------------------------------------------------------- job kinds
    def every(
        self,
        plugin: str,
        name: str,
        seconds: float,
        job: Job,
        *,
        per_guild: bool = False,
        guilds: GuildSource | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
        initial_delay: float | None = None,
        exclusive: bool = False,
        concurrency: int | None = None,
    ) -> None:
        """Run ``job`` every ``seconds``; with ``per_guild``, once per guild that ``guilds`` yields (``concurrency``
        at a time, starting once ``ready`` returns); with ``exclusive``, only in the process holding the job's lease
        (PostgreSQL)."""
        if seconds <= 0:
            raise ValueError("interval must be positive")
        spec = self._spec(plugin, name, job, per_guild=per_guild, guilds=guilds, concurrency=concurrency, ready=ready)

        async def loop() -> None:
            if spec.ready is not None:
                await spec.ready()
            first = random.uniform(0, min(seconds, 1.0)) if initial_delay is None else initial_delay
            await self.clock.sleep(first)
            while True:
                await self._tick(spec, self._guild_targets(spec))
                await self.clock.sleep(seconds)

        self._add(spec, (lambda: self._exclusive(spec, loop)) if exclusive else loop)

    def run_forever(
        self, plugin: str, name: str, job: Callable[[], Awaitable[None]], *, exclusive: bool = False
    ) -> None:
        """Run ``job`` until cancelled; if it returns or raises it is restarted with backoff. With ``exclusive`` it
        runs only in the process holding the job's lease (PostgreSQL), and is cancelled if that lease is lost."""
        spec = self._spec(plugin, name, job)

        async def loop() -> None:
            delay = 1.0
            while True:
                await self._tick(spec, None)
                await self.clock.sleep(delay)
                delay = min(delay * 2, 300.0)

        self._add(spec, (lambda: self._exclusive(spec, loop)) if exclusive else loop)

    def cron(
        self,
        plugin: str,
        name: str,
        expression: str,
        job: Job,
        *,
        zone: ZoneSource,
        per_guild: bool = False,
        guilds: GuildSource | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
        concurrency: int | None = None,
    ) -> None:
        """Run ``job`` at the times of the cron ``expression`` in the time zone ``zone(guild_id)`` gives (``zone(0)``
        for a job that is not per guild). Each fire is claimed in the database, so it runs once across processes;
        a schedule seen for the first time starts from now; after downtime that missed fires, it runs once."""
        if len(expression) > MAX_CRON or not croniter.is_valid(expression):
            raise ValueError(f"not a valid cron expression (at most {MAX_CRON} characters): {expression[:MAX_CRON]!r}")
        spec = self._spec(plugin, name, job, per_guild=per_guild, guilds=guilds, concurrency=concurrency, ready=ready)

        async def loop() -> None:
            if spec.ready is not None:
                await spec.ready()
            await self._load_marks(spec)
            while True:
                now = self.clock.now()
                targets = self._guild_targets(spec)
                due: list[int] = []
                wake = now + timedelta(seconds=CALENDAR_RECHECK_SECONDS)
                for guild_id in targets if targets is not None else [NO_GUILD]:
                    try:
                        place = await zone(guild_id)
                        previous, following = fire_times(expression, now, place)
                        wake = min(wake, following)
                        mark = job_store.Mark(f"{expression}@{place}", previous)
                        if await self._claim(spec, guild_id, mark, now):
                            due.append(guild_id)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("checking a scheduled job failed", plugin=plugin, job=name, guild_id=guild_id)
                if due:
                    await self._tick(spec, due if targets is not None else None)
                await self.clock.sleep(max((wake - self.clock.now()).total_seconds(), 0.0))

        self._add(spec, loop)

    async def _load_marks(self, spec: JobSpec) -> None:
        """Read the stored marks of every guild of ``spec`` at once (else one query per guild on the first pass)."""
        try:
            marks = await job_store.marks_of(spec.plugin, spec.name)
        except Exception:
            log.exception("reading a job's last runs failed", plugin=spec.plugin, job=spec.name)
            return
        for guild_id, mark in marks.items():
            self._marks[(spec.plugin, spec.name, guild_id)] = mark

    async def _claim(self, spec: JobSpec, guild_id: int, mark: job_store.Mark, now: datetime) -> bool:
        """Whether this process runs ``spec`` in ``guild_id`` for the fire of ``mark`` (a schedule seen for the first
        time, or changed, records a baseline instead)."""
        key = (spec.plugin, spec.name, guild_id)
        known = self._marks.get(key)
        if known is None:
            known = await job_store.last_mark(spec.plugin, spec.name, guild_id)
            if known is None:
                known = await job_store.start_schedule(spec.plugin, spec.name, guild_id, mark, now)
            self._marks[key] = known
        if known.schedule != mark.schedule:
            await job_store.restart_schedule(spec.plugin, spec.name, guild_id, mark)
            self._marks[key] = mark
            log.info("schedule changed", plugin=spec.plugin, job=spec.name, guild_id=guild_id, schedule=mark.schedule)
            return False
        if known.last_fire >= mark.last_fire:
            return False
        claimed = await job_store.claim_fire(spec.plugin, spec.name, guild_id, mark, now)
        self._marks[key] = mark  # ours or another process's: either way this fire is done
        return claimed

    # ------------------------------------------------------------------ leases
    @staticmethod
    def _leases_in_use() -> bool:
        return db.in_use() and db.dialect() == "postgres"  # without a database: one process, nothing to share

    async def _exclusive(self, spec: JobSpec, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``body`` only while this process holds the job's lease; plain ``body`` without PostgreSQL."""
        if not self._leases_in_use():
            await body()
            return
        me = asyncio.current_task()
        assert me is not None
        key = (spec.plugin, spec.name)
        self._guards.setdefault(key, set()).add(me)
        try:
            await self._keep_lease(spec, me, body)
        finally:
            self._guards[key].discard(me)

    async def _keep_lease(
        self, spec: JobSpec, me: asyncio.Task[None], body: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        lease = f"{spec.plugin}:{spec.name}"
        renew_every = self.lease_seconds / 4
        while True:
            taken = await self._take_lease(lease)
            if not taken:
                await self._wait_for_lease(lease, failed=taken is None)
                continue
            expires = taken
            self._holding.add(me)
            log.info("job lease taken", plugin=spec.plugin, job=spec.name, holder=self.holder)
            running = asyncio.get_running_loop().create_task(body(), name=f"omo:{spec.plugin}:{spec.name}:body")
            self._bodies[me] = running
            try:
                while await self._until_done_or(running, renew_every):
                    renewed = await self._take_lease(lease)
                    if renewed:
                        expires = renewed
                    elif renewed is False or self.clock.now() >= expires - timedelta(seconds=renew_every):
                        # another process has it, or the database failed for most of a lease: stop before
                        # another process may take over
                        log.warning("job lease lost, stopping the job here", plugin=spec.plugin, job=spec.name)
                        break
            finally:
                self._holding.discard(me)
                self._bodies.pop(me, None)
                if not running.done():
                    running.cancel()
                await asyncio.gather(running, return_exceptions=True)
            if not self._accepting:
                return

    async def _until_done_or(self, task: asyncio.Task[None], seconds: float) -> bool:
        """Wait until ``task`` ends (False) or ``seconds`` of the clock pass (True)."""
        ticker = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({task, ticker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ticker.cancel()
        return not task.done()

    async def _take_lease(self, lease: str) -> datetime | Literal[False] | None:
        """Take or renew ``lease``: its new expiry, False if another process holds it, None if the database failed."""
        now = self.clock.now()
        expires = now + timedelta(seconds=self.lease_seconds)
        try:
            return expires if await job_store.acquire_lease(lease, self.holder, now, expires) else False
        except Exception:
            log.exception("taking a job lease failed", lease=lease)
            return None

    async def _wait_for_lease(self, lease: str, *, failed: bool) -> None:
        """Sleep until the current holder's lease runs out (a quarter of a lease at most; the whole quarter after
        a database error), then try again."""
        wait = self.lease_seconds / 4
        if not failed:
            try:
                expiry = await job_store.lease_expiry(lease)
            except Exception:
                log.exception("reading a job lease failed", lease=lease)
                expiry = None
            if expiry is not None:
                wait = min(wait, max((expiry - self.clock.now()).total_seconds(), 0.0))
        await self.clock.sleep(wait)

    async def _release(self, keys: Iterable[tuple[str, str]]) -> None:
        """Give up the leases of ``keys`` that no live job of this process keeps (a reload's rollback gives an
        old job back that still runs under the lease)."""
        if not self._leases_in_use():
            return
        for plugin, name in list(keys):
            if any(not task.done() for task in self._guards.get((plugin, name), ())):
                continue
            self._guards.pop((plugin, name), None)
            try:  # bounded: a database that is down must not hold a shutdown up
                await asyncio.wait_for(job_store.release_lease(f"{plugin}:{name}", self.holder), RELEASE_SECONDS)
            except Exception:
                log.warning("releasing a job lease failed", plugin=plugin, job=name, exc_info=True)

    # ------------------------------------------------------------- stopping
    async def cancel(self, plugin: str, name: str) -> bool:
        """Stop job ``name`` of ``plugin`` (and give its lease up); whether it was running."""
        task = self._tasks.get(plugin, {}).pop(name, None)
        if task is None:
            return False
        await cancel_tasks([task])
        await self._release([(plugin, name)] if (plugin, name) in self._guards else [])
        return True

    async def cancel_plugin(self, plugin: str) -> int:
        """Cancel and await every job of ``plugin``, give its leases up; return how many were running."""
        jobs = self._tasks.pop(plugin, {})
        live = [task for task in jobs.values() if not task.done()]
        await cancel_tasks(live)
        await self._release(key for key in list(self._guards) if key[0] == plugin)
        return len(live)

    def detach(self, plugin: str) -> dict[str, asyncio.Task[None]]:
        """Take ``plugin``'s jobs out of the scheduler without stopping them (reload staging). Leases stay
        with this process: the new version's exclusive jobs renew them."""
        return self._tasks.pop(plugin, {})

    def attach(self, plugin: str, jobs: dict[str, asyncio.Task[None]]) -> None:
        """Give back jobs taken with :meth:`detach` (reload rollback)."""
        self._tasks.setdefault(plugin, {}).update(jobs)

    def _is_busy(self, task: asyncio.Task[Any]) -> bool:
        return task in self._busy or self._bodies.get(task) in self._busy

    async def shutdown(self, grace: float = 4.0) -> None:
        """Stop accepting jobs; let runs in progress finish for up to ``grace`` seconds; cancel the rest;
        give every lease up."""
        self._accepting = False
        tasks = [t for jobs in self._tasks.values() for t in jobs.values() if not t.done()]
        busy = [t for t in tasks if self._is_busy(t)]
        for task in tasks:
            if task not in busy:
                task.cancel()
        if busy:
            _done, late = await asyncio.wait(busy, timeout=grace)
            for task in late:
                log.warning("job still running at shutdown, cancelled", task=task.get_name())
                task.cancel()
        for plugin in list(self._tasks):
            await self.cancel_plugin(plugin)


def fire_times(expression: str, now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The last fire of cron ``expression`` at or before ``now`` and the next one after it, in UTC, with the
    expression read in time zone ``zone``."""
    local = now.astimezone(zone)
    itr = croniter(expression, local)
    following: datetime = itr.get_next(datetime)
    itr = croniter(expression, local + timedelta(microseconds=1))
    previous: datetime = itr.get_prev(datetime)
    return previous.astimezone(UTC), following.astimezone(UTC)


def daily_expression(at: str) -> str:
    """The cron expression of a daily run at ``at`` (``"HH:MM"``, 24-hour)."""
    hour, sep, minute = at.partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2 and 1 <= len(hour) <= 2):
        raise ValueError(f"a daily time is HH:MM (24-hour), not {at!r}")
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise ValueError(f"a daily time is HH:MM (24-hour), not {at!r}")
    return f"{int(minute)} {int(hour)} * * *"


def zone_named(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``Europe/Paris``); ValueError if there is none of that name."""
    if not 0 < len(name) <= MAX_ZONE_NAME:
        raise ValueError(f"unknown time zone {name[:MAX_ZONE_NAME]!r}: use an IANA name such as 'Europe/Paris'")
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'") from exc


def fixed_zone(zone: tzinfo) -> ZoneSource:
    """A zone source answering ``zone`` for every guild."""

    async def source(_guild_id: int) -> tzinfo:
        return zone

    return source


_warned_zones: dict[int, object] = {}


def setting_zone(guild_id: int, name: object, *, plugin: str = "") -> tzinfo:
    """The zone a guild's ``timezone`` setting names; UTC when it is empty or unknown (warned once per guild and
    name, not on every pass of every job)."""
    if not isinstance(name, str) or not name:
        return UTC
    try:
        return zone_named(name)
    except ValueError:
        if _warned_zones.get(guild_id) != name:
            if len(_warned_zones) > 10_000:
                _warned_zones.clear()
            _warned_zones[guild_id] = name
            log.warning(
                "unknown time zone in settings, using UTC",
                plugin=plugin,
                guild_id=guild_id,
                timezone=name[:MAX_ZONE_NAME],
            )
        return UTC


def _guild_ctx(args: tuple[Any, ...]) -> dict[str, Any]:
    return {"guild_id": args[0]} if args and isinstance(args[0], int) else {}


async def cancel_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel and await ``tasks``."""
    live = [t for t in tasks if not t.done()]
    for task in live:
        task.cancel()
    if live:
        await asyncio.gather(*live, return_exceptions=True)
