"""Shared set-up of the dailies tests: a local feed server; the guild admin and member of the config tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.clock import ManualClock
from tests.config.conftest import admin, member
from tests.dailies.feedserver import FeedServer

__all__ = ["admin", "feeds", "member"]


@pytest.fixture(autouse=True)
def scheduler_clock(clock: ManualClock) -> ManualClock:
    """The runtimes' schedulers run on the hand-driven clock: the poll job runs only when a test moves it,
    so the tests' own ``poller.tick()`` calls are the only cycles."""
    return clock


@pytest_asyncio.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A feed server on 127.0.0.1 (a free port)."""
    server = await FeedServer().start()
    try:
        yield server
    finally:
        await server.stop()
