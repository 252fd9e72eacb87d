"""Shared set-up of the dailies tests: a local feed server, a guild admin and a member."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.testing.emulator import Emulator, Guild, Member
from tests.dailies.feedserver import FeedServer

MANAGE_GUILD = 1 << 5


@pytest_asyncio.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A feed server on 127.0.0.1 (a free port)."""
    server = await FeedServer().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def admin(emulator: Emulator, guild: Guild) -> Member:
    """A member with Manage Server (through a role)."""
    role = emulator.create_role(guild, "Admins", permissions=MANAGE_GUILD)
    return emulator.create_member(guild, "ada", roles=[role])


@pytest.fixture
def member(emulator: Emulator, guild: Guild) -> Member:
    """A member without Manage Server."""
    return emulator.create_member(guild, "mo")
