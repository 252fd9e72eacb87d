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


async def test_a_change_an_import_and_a_revert_run_omo_settings_changed_in_every_process(
    runtime_factory: Any, guild: Guild
) -> None:
    from tests.sample_plugins import allhooks

    plugins = {"config": {}, "echo": dict(ECHO), "allhooks": {"module": "tests.sample_plugins.allhooks"}}
    first = await runtime_factory(plugins)
    second = await runtime_factory(plugins, connect=False)
    allhooks.CALLS.clear()
    svc = service(first)

    def seen_by_both(changes: dict[str, tuple[Any, Any]], actor: int) -> bool:
        # allhooks is loaded by both runtimes (one Python process): each process records its own call
        return allhooks.CALLS.count(("omo_settings_changed", (guild.id, "echo", changes, actor))) == 2

    [change] = await svc.set_values(guild.id, "echo", {"repeat": 4}, Actor(7, "ops"))
    await eventually(lambda: seen_by_both({"repeat": (1, 4)}, 7), what="the change in both processes")
    read_after_change = (await second.settings.get(guild.id, "echo")).repeat
    await svc.import_settings(guild.id, {"plugins": {"echo": {"repeat": 2, "prefix": "?"}}}, Actor(8, "ops"))
    await eventually(lambda: seen_by_both({"prefix": (">", "?"), "repeat": (4, 2)}, 8), what="the import")
    await svc.revert(guild.id, change.entry_id or 0, Actor(9, "ops"))
    await eventually(lambda: seen_by_both({"repeat": (2, 1)}, 9), what="the revert in both processes")

    assert read_after_change == 4  # the other process's cache was dropped before its hooks ran
