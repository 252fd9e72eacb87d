"""Time for the scheduler: the system clock in production, a hand-driven one in tests.

The scheduler reads the time and waits only through a :class:`Clock`, so a test can put a
:class:`ManualClock` in (the ``clock`` pytest fixture does) and move time on with ``clock.advance(...)``
instead of sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the scheduler needs of time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real time: ``datetime.now(UTC)`` and ``asyncio.sleep``."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``."""
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that stands still until a test moves it: ``clock.advance(60)`` or ``clock.advance(timedelta(days=1))``.

    Every task sleeping on it whose wake-up time is reached by a move wakes once; a task that sleeps again
    counts from the new time. A jump over several intervals therefore looks like a process that was frozen
    (or down) meanwhile: a periodic job runs once, not once per interval it missed.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("the start time must be timezone-aware")
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock (tests wait for a job to be asleep before moving time)."""
        return sum(1 for _, fut in self._sleepers if not fut.done())

    def next_wakeup(self) -> datetime | None:
        """The earliest time a sleeping task waits for, or None."""
        waiting = [when for when, fut in self._sleepers if not fut.done()]
        return min(waiting) if waiting else None

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been moved ``seconds`` past now."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        entry = (self._now + timedelta(seconds=seconds), asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    def advance(self, by: float | timedelta) -> datetime:
        """Move the clock forward ``by`` (seconds or a timedelta), wake the sleepers that are due; the new time."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        return self.set(self._now + step)

    def set(self, when: datetime) -> datetime:
        """Move the clock forward to ``when`` (timezone-aware), waking the sleepers that are due; the new time."""
        if when.tzinfo is None or when < self._now:
            raise ValueError("set the clock to a later, timezone-aware time")
        self._now = when
        for due, fut in list(self._sleepers):
            if due <= when and not fut.done():
                fut.set_result(None)
        return when
