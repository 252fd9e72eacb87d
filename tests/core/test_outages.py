"""Gateway and database outages: the bot resumes, counts nothing twice, and loses no write."""

from __future__ import annotations

import os
from typing import Any

import pytest

from core.models import GuildPluginState
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import TEST_DATABASE_ENV, eventually

ECHO = {"echo": {"module": "tests.sample_plugins.echo"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return ECHO


async def test_dropped_gateway_resumes_and_listener_sees_missed_messages_once(
    emulator: Emulator, runtime: Any, guild: Any
) -> None:
    alice = emulator.create_member(guild, "alice")
    cog = runtime.bot.get_cog("EchoCog")
    channel = emulator.general(guild)

    await emulator.drop_connection(0)
    await emulator.send_message(alice, channel, "while down")  # replayed on RESUME
    await eventually(lambda: "while down" in cog.heard, timeout=5, what="the missed message replayed")
    await emulator.send_message(alice, channel, "after")
    answer = await emulator.invoke(alice, channel, "echo", text="still here")
    await eventually(lambda: "after" in cog.heard, what="the next message heard")

    assert cog.heard.count("while down") == 1
    assert cog.heard.count("after") == 1
    assert answer.content == ">still here"


async def test_readyz_reports_gateway_down_then_up(emulator: Emulator, runtime: Any) -> None:
    ready = await runtime.readiness()
    assert ready["ok"] and ready["database"]["ok"]

    await runtime.bot.close()
    down = await runtime.readiness()

    assert down["ok"] is False and down["gateway"]["ok"] is False and down["database"]["ok"] is True


@pytest.mark.postgres  # the test terminates the server-side connections
async def test_switch_written_after_postgres_drops_every_connection(runtime: Any, database_url: str) -> None:
    import asyncpg

    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(os.environ[TEST_DATABASE_ENV].replace("postgres://", "postgresql://", 1))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    assert killed >= 1

    await runtime.gate.set_enabled(77, "echo", False, actor_id=1)

    row = await GuildPluginState.get(guild_id=77, plugin="echo")
    assert row.enabled is False and runtime.gate.is_enabled(77, "echo") is False
