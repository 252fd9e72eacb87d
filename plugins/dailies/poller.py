"""The poller: every tick, check the due feeds (bounded concurrency, one fetch per URL shared by its
subscribers, a lease per feed so only one process polls it), post what is new, run digests and schedules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from .models import Feed, Subscription
from .service import DailiesService, Fetched, PollOutcome, Sender
from .settings import DailiesSettings

log = structlog.get_logger("omo.plugins.dailies")
SettingsOf = Callable[[int], Awaitable[DailiesSettings]]
BATCH = 100


@dataclass
class CycleStats:
    """What one tick did."""

    feeds: int = 0
    failed: int = 0
    new_items: int = 0
    posted: int = 0
    scheduled: int = 0
    seconds: float = 0.0


class Poller:
    """Runs the poll cycle for one plugin instance."""

    def __init__(self, service: DailiesService, sender: Sender, settings_of: SettingsOf, concurrency: int) -> None:
        self.service = service
        self.sender = sender
        self.settings_of = settings_of
        self.concurrency = concurrency
        self.recovered = False

    async def _timezone(self, guild_id: int) -> str:
        return (await self.settings_of(guild_id)).timezone

    async def run(self) -> None:
        """One cycle, as a scheduler job."""
        stats = await self.tick()
        if stats.feeds or stats.posted or stats.scheduled:
            log.debug("poll cycle", **stats.__dict__)

    async def tick(self) -> CycleStats:
        """One cycle: recover (first time), poll due feeds, post, run schedules. Errors of one feed stay there."""
        started = time.perf_counter()
        if not self.recovered:
            counts = await self.service.recover(self.sender)
            self.recovered = True
            if any(counts.values()):
                log.info("resolved posts interrupted by a restart", **counts)
        stats = CycleStats()
        gate = asyncio.Semaphore(self.concurrency)

        async def fetch(feed: Feed) -> Fetched:
            async with gate:
                return await self.service.fetch(feed)

        last: Feed | None = None
        cycle_start = self.service.clock()  # a feed checked in this cycle is next due after it: checked once
        while due := await self.service.due_feeds(BATCH, after=last, until=cycle_start):
            last = due[-1]
            leased = await self.service.lease(due)
            outcomes = await self.service.apply(list(await asyncio.gather(*(fetch(f) for f in leased))))
            stats.feeds += len(outcomes)
            changed = []
            for outcome in outcomes:
                stats.new_items += outcome.new_entries
                if not outcome.ok:
                    stats.failed += 1
                    await self._notify_disabled(outcome)
                elif outcome.new_entries:
                    changed.append(outcome.feed_id)
            if changed:
                stats.posted += await self.service.deliver(self.sender, timezone_of=self._timezone, feed_ids=changed)
        stats.posted += await self.service.deliver(self.sender, timezone_of=self._timezone)
        stats.scheduled = await self.service.run_schedules(self.sender)
        stats.seconds = time.perf_counter() - started
        return stats

    async def _notify_disabled(self, outcome: PollOutcome) -> None:
        for sub in await Subscription.filter(id__in=outcome.disabled):
            settings = await self.settings_of(sub.guild_id)
            await self.sender.notice(
                sub.guild_id,
                settings.notice_channel or sub.channel_id,
                f"⚠️ Feed subscription #{sub.id} ({sub.source}) was disabled: {sub.disabled_reason}. "
                f"Fix the source, then `/dailies resume {sub.id}` or resume it on the dashboard.",
            )
