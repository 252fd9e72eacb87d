"""Durability: points earned while PostgreSQL refuses connections are held in order and written when it is back;
a reload of mileage under message traffic loses no point; a shutdown flushes what is held."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import TEST_DATABASE_ENV, eventually
from tests.mileage.conftest import mileage_plugins, settled, state


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins(message_points_min=10, message_points_max=10, cooldown_seconds=0)


async def _admin_sql(sql: str, *args: Any) -> Any:
    import asyncpg

    admin = await asyncpg.connect(os.environ[TEST_DATABASE_ENV].replace("postgres://", "postgresql://", 1))
    try:
        return await admin.fetchval(sql, *args)
    finally:
        await admin.close()


async def _refuse_connections(name: str, refuse: bool) -> None:
    """Make the test's own database refuse (or accept again) connections; the server keeps running."""
    await _admin_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if refuse else "true"}')
    if refuse:
        await _admin_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )


@pytest.mark.postgres
async def test_postgres_unreachable_for_10_seconds_mid_stream_loses_and_doubles_nothing(
    emulator: Emulator, runtime: Any, guild: Guild, database_url: str
) -> None:
    name = database_url.rsplit("/", 1)[1]
    people = [emulator.create_member(guild, f"m{i}") for i in range(4)]
    general = emulator.general(guild)
    sent = 0

    async def stream(count: int) -> None:
        nonlocal sent
        for i in range(count):
            await emulator.send_message(people[i % len(people)], general, f"message {sent}")
            sent += 1
            await asyncio.sleep(0.02)

    await stream(40)
    await eventually(lambda: state(runtime).handled >= 40, what="the first messages", timeout=20)
    await _refuse_connections(name, True)
    try:
        outage = asyncio.get_running_loop().create_task(stream(80))
        await asyncio.sleep(10)  # the outage the scenario asks for
        await outage
        held_during_outage = len(state(runtime).buffer)
    finally:
        await _refuse_connections(name, False)
    await stream(40)
    await eventually(lambda: state(runtime).handled >= 160, what="every message handled", timeout=30)
    await eventually(lambda: not state(runtime).buffer.holding, what="the buffer written", timeout=30)

    totals = await (await settled(runtime)).service.totals(guild.id)
    assert held_during_outage > 0 and state(runtime).buffer.failures > 0
    assert totals == {p.user_id: 400 for p in people}
    assert len(await state(runtime).service.history(guild.id, limit=200)) == 160


async def test_a_reload_under_message_traffic_loses_no_point(emulator: Emulator, runtime: Any, guild: Guild) -> None:
    people = [emulator.create_member(guild, f"r{i}") for i in range(3)]
    general = emulator.general(guild)

    async def stream() -> None:
        for i in range(90):
            await emulator.send_message(people[i % 3], general, f"message {i}")
            await asyncio.sleep(0.01)

    traffic = asyncio.get_running_loop().create_task(stream())
    await eventually(lambda: state(runtime).handled >= 10, what="traffic flowing")
    report = await runtime.host.reload("mileage")
    await traffic

    async def total() -> int:
        st = await settled(runtime)
        return sum((await st.service.totals(guild.id)).values())

    await eventually(lambda: len(runtime.bot.cached_messages) >= 90, what="every message seen")
    await eventually(lambda: _equals(total(), 900), what="every point written", timeout=10)

    assert report is not None
    assert await total() == 900


async def test_shutdown_flushes_held_points(emulator: Emulator, runtime_factory: Any, guild: Guild) -> None:
    runtime = await runtime_factory(mileage_plugins(message_points_min=7, message_points_max=7, cooldown_seconds=0))
    member = emulator.create_member(guild, "late")
    st = state(runtime)
    from plugins.mileage.service import Award

    for i in range(25):
        await st.buffer.put(Award(guild.id, member.user_id, 7, "message", f"msg:late{i}", messages=1))
    service = st.service

    await runtime.stop()
    runtime_factory.started.remove(runtime)

    again = await runtime_factory(mileage_plugins())
    assert again is not None
    assert await service.total(guild.id, member.user_id) == 175
