"""Shared set-up of the dailies tests: a local feed server; the guild admin and member of the config tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.config.conftest import admin, member
from tests.dailies.feedserver import FeedServer

__all__ = ["admin", "feeds", "member"]


@pytest_asyncio.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A feed server on 127.0.0.1 (a free port)."""
    server = await FeedServer().start()
    try:
        yield server
    finally:
        await server.stop()
