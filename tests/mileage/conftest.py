"""Shared set-up of the mileage plugin's tests: config + mileage (short cooldown off by default), an admin and
members, and helpers to reach the plugin's live state."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from core.testing.emulator import Emulator, Guild, Member

T = TypeVar("T")
MANAGE_GUILD = 1 << 5
MANAGE_ROLES = 1 << 28


def mileage_plugins(**settings: Any) -> dict[str, dict[str, Any]]:
    """plugins.toml tables: config and mileage with these default settings."""
    return {"config": {}, "mileage": {"settings": settings}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins()


@pytest.fixture
def admin(emulator: Emulator, guild: Guild) -> Member:
    """A member with Manage Server (through a role)."""
    role = emulator.create_role(guild, "Admins", permissions=MANAGE_GUILD)
    return emulator.create_member(guild, "ada", roles=[role])


@pytest.fixture
def member(emulator: Emulator, guild: Guild) -> Member:
    """A member without Manage Server."""
    return emulator.create_member(guild, "mo")


def state(runtime: Any) -> Any:
    """The live mileage state of ``runtime`` (from the live module: a reload replaces it)."""
    found = importlib.import_module("plugins.mileage.state").running_state(runtime)
    assert found is not None, "mileage is not running"
    return found


async def settled(runtime: Any) -> Any:
    """Flush the write buffer and let the reconcile finish; return the state."""
    st = state(runtime)
    await st.buffer.flush()
    await st.reconciler.wait_idle()
    return st


async def until(check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Like ``eventually`` for an async check (a database read): poll until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)
