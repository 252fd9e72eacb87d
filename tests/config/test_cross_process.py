"""Two omo processes sharing one PostgreSQL database: a change in one reaches the other's cache."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Guild
from core.testing.pytest_plugin import eventually
from plugins.config.service import Actor
from tests.config.helpers import ECHO, count_queries, service

pytestmark = pytest.mark.postgres  # LISTEN/NOTIFY between processes; SQLite serves one process only


async def test_a_change_in_one_runtime_is_read_in_the_other_within_a_second(runtime_factory: Any, guild: Guild) -> None:
    plugins = {"config": {}, "echo": dict(ECHO)}
    first = await runtime_factory(plugins)
    second = await runtime_factory(plugins, connect=False)
    assert (await second.settings.get(guild.id, "echo")).repeat == 1
    with count_queries() as queries:
        assert (await second.settings.get(guild.id, "echo")).repeat == 1
    assert queries.statements == []  # the second runtime answers from its cache

    await service(first).set_values(guild.id, "echo", {"repeat": 4}, Actor(7, "ops"))

    async def repeat_in_second() -> bool:
        return (await second.settings.get(guild.id, "echo")).repeat == 4

    await eventually(repeat_in_second, timeout=1.0, interval=0.01, what="the change in the other process")
