"""``/daily``: once per guild day in the guild's timezone, streaks with grace, top streaks, points via the hook."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from tests.dailies import points_plugin
from tests.dailies.helpers import Clock, dailies_plugin, use_clock


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "dailies": dailies_plugin()}


async def daily(emulator: Emulator, who: Member, guild: Guild, **options: Any) -> Any:
    return await emulator.invoke(who, emulator.general(guild), "daily", **options)


async def test_once_a_day_with_a_growing_streak_and_no_points_without_a_points_plugin(
    emulator: Emulator, guild: Guild, runtime: Any, member: Member
) -> None:
    clock = Clock()
    use_clock(runtime, clock)

    first = await daily(emulator, member, guild)
    again = await daily(emulator, member, guild)
    clock.advance(days=1)
    second = await daily(emulator, member, guild)

    assert "Streak: 🔥 **1** day (best 1)" in first.content and "points" not in first.content
    assert again.ephemeral and "already checked in today" in again.content
    assert "Streak: 🔥 **2** days" in second.content


async def test_grace_keeps_the_streak_and_a_longer_gap_resets_it(
    emulator: Emulator, guild: Guild, runtime: Any, member: Member, admin: Member
) -> None:
    clock = Clock()
    use_clock(runtime, clock)
    await emulator.invoke(
        admin, emulator.general(guild), "config set", plugin="dailies", key="checkin_grace_days", value="1"
    )

    await daily(emulator, member, guild)
    clock.advance(days=2)  # one missed day: within grace
    kept = await daily(emulator, member, guild)
    clock.advance(days=3)  # two missed days: reset
    reset = await daily(emulator, member, guild)

    assert "**2** days" in kept.content
    assert "**1** day (best 2)" in reset.content


async def test_the_day_follows_the_guild_timezone(
    emulator: Emulator, guild: Guild, runtime: Any, member: Member, admin: Member
) -> None:
    clock = Clock()  # 2026-12-01 08:00 UTC
    use_clock(runtime, clock)
    await emulator.invoke(
        admin, emulator.general(guild), "config set", plugin="dailies", key="timezone", value="America/New_York"
    )
    clock.now = clock.now.replace(hour=4)  # 23:00 on Nov 30 in New York

    late = await daily(emulator, member, guild)
    clock.advance(hours=2)  # 01:00 on Dec 1 in New York: a new day, though still Dec 1 in UTC before and after
    next_day = await daily(emulator, member, guild)
    clock.advance(hours=10)  # same New York day
    same = await daily(emulator, member, guild)

    assert "**1** day" in late.content and "**2** days" in next_day.content
    assert "already checked in" in same.content


async def test_top_streaks(emulator: Emulator, guild: Guild, runtime: Any, member_factory: Any) -> None:
    clock = Clock()
    use_clock(runtime, clock)
    ann, bob, cid = member_factory("ann"), member_factory("bob"), member_factory("cid")
    for day in range(3):
        await daily(emulator, ann, guild)
        if day:
            await daily(emulator, bob, guild)
        clock.advance(days=1)
    await daily(emulator, cid, guild)

    top = await daily(emulator, cid, guild, action="streaks")

    text = top.embeds[0]["description"]
    assert text.index(f"<@{ann.id}> 🔥 3") < text.index(f"<@{bob.id}> 🔥 2") < text.index(f"<@{cid.id}> 🔥 1")


async def test_points_are_awarded_through_the_hook_once_per_day(
    emulator: Emulator, guild: Guild, runtime_factory: Any, member: Member
) -> None:
    runtime = await runtime_factory(
        {
            "config": {},
            "dailies": {
                **dailies_plugin(),
                "settings": {**dailies_plugin()["settings"], "checkin_points": 10, "checkin_streak_bonus": 5},
            },
            "points": {"module": "tests.dailies.points_plugin"},
        }
    )
    clock = Clock()
    use_clock(runtime, clock)
    points_plugin.totals.clear()
    points_plugin.awards.clear()

    first = await daily(emulator, member, guild)
    await daily(emulator, member, guild)
    clock.advance(days=1)
    second = await daily(emulator, member, guild)

    assert "+10 points (total 10)" in first.content
    assert "+15 points (total 25)" in second.content
    assert points_plugin.totals[(guild.id, member.id)] == 25
    assert sorted(points_plugin.awards) == [
        f"{guild.id}:daily:{member.id}:2026-12-01",
        f"{guild.id}:daily:{member.id}:2026-12-02",
    ]
