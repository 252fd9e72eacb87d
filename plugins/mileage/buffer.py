"""A bounded, in-order write buffer in front of the ledger: earned points survive a database outage.

Listeners put awards here and go on; one flusher writes them in batches (one transaction each: events, totals
and rollups together). While the database is unreachable the batch stays at the head of the queue and is retried
with backoff; when the queue reaches its bound a warning is logged and producers wait for room (nothing is
dropped). A shutdown flushes what is held. Idempotency keys make a retried batch harmless when the first attempt
committed but its answer was lost.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from tortoise.exceptions import IntegrityError

from .service import Applied, Award, MileageService

log = structlog.get_logger("omo.plugins.mileage")

OnApplied = Callable[[list[Applied]], Awaitable[None]]


class WriteBuffer:
    """Holds awards in order until they are written."""

    def __init__(
        self,
        service: MileageService,
        *,
        limit: int = 100_000,
        batch: int = 500,
        on_applied: OnApplied | None = None,
        max_backoff: float = 2.0,
    ) -> None:
        self.service = service
        self.limit = limit
        self.batch = batch
        self.on_applied = on_applied
        self.max_backoff = max_backoff
        self._queue: collections.deque[Award] = collections.deque()
        self._waiters: dict[tuple[int, str], asyncio.Future[Applied | None]] = {}
        self._retry_at = 0.0
        self._backoff = 0.0
        self._room = asyncio.Event()
        self._room.set()
        self._lock = asyncio.Lock()
        self._full_warned = False
        self.failures = 0
        self.written = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def holding(self) -> bool:
        """Whether points are waiting to be written."""
        return bool(self._queue)

    async def put(self, award: Award) -> None:
        """Queue ``award`` (waits for room when the buffer is full)."""
        while len(self._queue) >= self.limit:
            if not self._full_warned:
                log.warning("mileage write buffer full; earning waits for the database", held=len(self._queue))
                self._full_warned = True
            self._room.clear()
            await self._room.wait()
        self._queue.append(award)
        if self.closed:
            await self.flush()

    async def submit(self, award: Award) -> Applied | None:
        """Queue ``award`` and wait until it is written; None when its key had already been used."""
        future: asyncio.Future[Applied | None] = asyncio.get_running_loop().create_future()
        self._waiters[(award.guild_id, award.key)] = future
        await self.put(award)
        return await future

    async def drain(self) -> None:
        """Write what is held, batch by batch (the flusher job calls this several times a second). While the
        database is unreachable the batch stays at the head and the next try waits (backoff up to a few seconds)."""
        loop = asyncio.get_running_loop()
        if not self._queue or loop.time() < self._retry_at:
            return
        while self._queue:
            try:
                await self._flush_once()
            except Exception as exc:  # noqa: BLE001 - held and retried; the job must not die of an outage
                self.failures += 1
                self._backoff = min(self.max_backoff, self._backoff * 2) if self._backoff else 0.1
                self._retry_at = loop.time() + self._backoff
                log.warning("mileage writes held", held=len(self._queue), error=str(exc)[:200], retry=self._backoff)
                return
            self._backoff = 0.0

    async def flush(self, *, deadline: float | None = None) -> None:
        """Write everything held now (shutdown, admin commands); retries until ``deadline`` (loop time) passes."""
        loop = asyncio.get_running_loop()
        delay = 0.1
        while self._queue:
            try:
                await self._flush_once()
            except Exception as exc:
                if deadline is not None and loop.time() >= deadline:
                    log.error("mileage writes still held at the deadline", held=len(self._queue), error=str(exc)[:200])
                    raise
                await asyncio.sleep(delay)
                delay = min(self.max_backoff, delay * 2)

    async def _flush_once(self) -> None:
        async with self._lock:
            if not self._queue:
                return
            take = [self._queue[i] for i in range(min(self.batch, len(self._queue)))]
            try:
                applied = await self.service.apply(take)
            except (IntegrityError, ValueError, TypeError):
                applied = await self._isolate(take)
            for _ in take:
                self._queue.popleft()
            self.written += len(applied)
            self._wake(take, applied)
        if self.on_applied is not None and applied:
            try:
                await self.on_applied(applied)
            except Exception:
                log.exception("mileage: handling written points failed")

    async def _isolate(self, take: list[Award]) -> list[Applied]:
        """A batch was refused for its data (not for the connection): write its awards one by one and log the one
        the database refuses. Any other error (connection lost, database refusing connections, ...) holds the
        whole batch for a retry: nothing is dropped for an outage."""
        applied: list[Applied] = []
        for award in take:
            try:
                applied += await self.service.apply([award])
            except (IntegrityError, ValueError, TypeError) as exc:
                self._drop_poison(award, exc)
        return applied

    def _drop_poison(self, award: Award, exc: BaseException) -> None:
        log.error("mileage award refused by the database", award=repr(award), error=str(exc)[:300])
        future = self._waiters.pop((award.guild_id, award.key), None)
        if future is not None and not future.done():
            future.set_exception(exc)

    def _wake(self, take: list[Award], applied: list[Applied]) -> None:
        by_key: dict[tuple[int, str], Any] = {(a.award.guild_id, a.award.key): a for a in applied}
        for award in take:
            future = self._waiters.pop((award.guild_id, award.key), None)
            if future is not None and not future.done():
                future.set_result(by_key.get((award.guild_id, award.key)))
        if len(self._queue) < self.limit:
            self._room.set()
            self._full_warned = False
