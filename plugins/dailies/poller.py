"""The poller: every tick, check the due feeds (bounded concurrency, one fetch per URL shared by its
subscribers, a lease per feed so only one process polls it), post what is new, run digests and schedules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from .service import DailiesService, PollOutcome, Sender
from .settings import DailiesSettings

log = structlog.get_logger("omo.plugins.dailies")
SettingsOf = Callable[[int], Awaitable[DailiesSettings]]


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

        async def one(feed_id: int) -> None:
            async with gate:
                try:
                    outcome = await self._poll(feed_id)
                except Exception:
                    log.exception("polling a feed failed", feed_id=feed_id)
                    stats.failed += 1
                    return
            if outcome is None:
                return
            stats.feeds += 1
            stats.new_items += outcome.new_entries
            if not outcome.ok:
                stats.failed += 1
                await self._notify_disabled(outcome)
            elif outcome.new_entries:
                stats.posted += await self.service.deliver(
                    self.sender, timezone_of=self._timezone, feed_ids=[outcome.feed_id]
                )

        due = await self.service.due_feeds()
        await asyncio.gather(*(one(f.id) for f in due))
        stats.posted += await self.service.deliver(self.sender, timezone_of=self._timezone)
        stats.scheduled = await self.service.run_schedules(self.sender)
        stats.seconds = time.perf_counter() - started
        return stats

    async def _poll(self, feed_id: int) -> PollOutcome | None:
        from .models import Feed

        feed = await Feed.get_or_none(id=feed_id)
        if feed is None or not await self.service.lease(feed):
            return None
        return await self.service.poll(feed)

    async def _notify_disabled(self, outcome: PollOutcome) -> None:
        from .models import Subscription

        for sub in await Subscription.filter(id__in=outcome.disabled):
            settings = await self.settings_of(sub.guild_id)
            await self.sender.notice(
                sub.guild_id,
                settings.notice_channel or sub.channel_id,
                f"⚠️ Feed subscription #{sub.id} ({sub.source}) was disabled: {sub.disabled_reason}. "
                f"Fix the source, then `/dailies resume {sub.id}` or resume it on the dashboard.",
            )
