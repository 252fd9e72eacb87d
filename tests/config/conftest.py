"""Shared set-up of the config plugin's tests: config + the echo sample plugin, a guild admin and a member."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member

MANAGE_GUILD = 1 << 5
PLUGINS: dict[str, dict[str, Any]] = {"config": {}, "echo": {"module": "tests.sample_plugins.echo"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {name: dict(section) for name, section in PLUGINS.items()}


@pytest.fixture
def admin(emulator: Emulator, guild: Guild) -> Member:
    """A member with Manage Server (through a role)."""
    role = emulator.create_role(guild, "Admins", permissions=MANAGE_GUILD)
    return emulator.create_member(guild, "ada", roles=[role])


@pytest.fixture
def member(emulator: Emulator, guild: Guild) -> Member:
    """A member without Manage Server."""
    return emulator.create_member(guild, "mo")
