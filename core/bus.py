"""Messages between omo processes that share a database.

On PostgreSQL the bus is LISTEN/NOTIFY, so a plugin switch, a setting change or
a reload reaches every shard process; on SQLite (one process) it is local.
A process ignores its own messages: it already applied them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("omo.bus")

Handler = Callable[[dict[str, Any]], Any]
CHANNEL = "omo_bus"


class Bus:
    """Publish/subscribe by topic. :meth:`start` connects to PostgreSQL when given a URL."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        self._handlers: dict[str, list[Handler]] = {}
        self._conn: Any = None
        self._url: str | None = None
        self._pending: set[asyncio.Future[Any]] = set()

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(payload)`` for messages on ``topic`` from other processes."""
        self._handlers.setdefault(topic, []).append(handler)

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        """Stop calling ``handler`` for ``topic`` (a plugin that subscribed does this in its teardown)."""
        handlers = self._handlers.get(topic, [])
        if handler in handlers:
            handlers.remove(handler)

    async def start(self, postgres_url: str | None) -> None:
        """Listen on PostgreSQL (``postgres_url``) or stay local (None)."""
        if not postgres_url:
            return
        import asyncpg

        self._url = postgres_url.replace("postgres://", "postgresql://", 1)
        self._conn = await asyncpg.connect(self._url)
        await self._conn.add_listener(CHANNEL, self._on_notify)
        self._conn.add_termination_listener(self._on_terminated)

    def _on_terminated(self, _conn: Any) -> None:
        if self._url is not None:
            self._spawn(self._reconnect())

    def _spawn(self, coro: Any, topic: str | None = None) -> None:
        """Run ``coro`` in the background, keeping a reference until it is done; its failure is logged."""
        task = asyncio.ensure_future(coro)
        self._pending.add(task)

        def done(task: asyncio.Future[Any]) -> None:
            self._pending.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("bus handler failed", topic=topic, exc_info=task.exception())

        task.add_done_callback(done)

    async def _reconnect(self) -> None:
        import asyncpg

        delay = 0.5
        while self._url is not None:
            try:
                self._conn = await asyncpg.connect(self._url)
                await self._conn.add_listener(CHANNEL, self._on_notify)
                log.info("bus reconnected")
                return
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("bus reconnect failed", error=str(exc), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` on ``topic`` to the other processes."""
        if self._conn is None:
            return
        message = json.dumps({"topic": topic, "origin": self.origin, "payload": payload})
        try:
            await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, message)
        except Exception as exc:  # noqa: BLE001 - a lost notification must not fail the write that caused it
            log.warning("bus publish failed", topic=topic, error=str(exc))

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("bus message is not JSON", raw=raw[:200])
            return
        if message.get("origin") == self.origin:
            return
        for handler in self._handlers.get(message.get("topic", ""), []):
            try:
                result = handler(message.get("payload", {}))
                if asyncio.iscoroutine(result):
                    self._spawn(result, message.get("topic"))
            except Exception:
                log.exception("bus handler failed", topic=message.get("topic"))

    async def close(self) -> None:
        """Stop listening."""
        self._url = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close(timeout=2)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                conn.terminate()
