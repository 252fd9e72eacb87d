"""Tiers grant roles through the emulator: stack and replace, demotion, a role above the bot reported, sync-roles,
announcements and the per-member opt-out."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import eventually
from tests.mileage.conftest import mileage_plugins, settled, state


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins(message_points_min=10, message_points_max=10, cooldown_seconds=0)


def roles_of(emulator: Emulator, guild: Guild, member: Any) -> set[int]:
    return set(emulator.world.guilds[guild.id].members[member.user_id].roles)


async def _tiers(emulator: Emulator, guild: Guild, admin: Any) -> tuple[Any, Any]:
    bronze = emulator.create_role(guild, "Bronze")
    silver = emulator.create_role(guild, "Silver")
    general = emulator.general(guild)
    for name, threshold, role in (("Bronze", 20, bronze), ("Silver", 50, silver)):
        answer = await emulator.invoke(admin, general, "mileage tiers add", name=name, threshold=threshold, role=role)
        assert f"Tier **{name}**" in (answer.content or ""), answer.content
    return bronze, silver


async def test_stack_mode_grants_every_reached_tier_and_takes_them_back_on_demotion(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    bronze, silver = await _tiers(emulator, guild, admin)
    general = emulator.general(guild)

    for i in range(2):
        await emulator.send_message(member, general, f"message {i}")
    await eventually(lambda: bronze.id in roles_of(emulator, guild, member), what="the Bronze role")
    await emulator.invoke(admin, general, "mileage give", member=member, points=40, reason="event winner")
    await eventually(lambda: silver.id in roles_of(emulator, guild, member), what="the Silver role")
    stacked = roles_of(emulator, guild, member) >= {bronze.id, silver.id}
    await emulator.invoke(admin, general, "mileage take", member=member, points=45, reason="correction")
    await eventually(lambda: not ({bronze.id, silver.id} & roles_of(emulator, guild, member)), what="roles removed")

    assert stacked
    assert await state(runtime).service.total(guild.id, member.user_id) == 15


async def test_replace_mode_keeps_only_the_highest_tier(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    answer = await emulator.invoke(admin, general, "config set", plugin="mileage", key="tier_mode", value="replace")
    assert "Saved" in (answer.content or "")
    bronze, silver = await _tiers(emulator, guild, admin)

    await emulator.invoke(admin, general, "mileage give", member=member, points=25, reason="r")
    await eventually(lambda: bronze.id in roles_of(emulator, guild, member), what="Bronze")
    await emulator.invoke(admin, general, "mileage give", member=member, points=30, reason="r")
    await eventually(lambda: silver.id in roles_of(emulator, guild, member), what="Silver")
    await eventually(lambda: bronze.id not in roles_of(emulator, guild, member), what="Bronze replaced")


async def test_a_role_above_the_bot_is_reported_not_crashed_on(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    boss = emulator.create_role(guild, "Boss", position=emulator.bot_role(guild).position + 1)
    low = emulator.create_role(guild, "Low")
    added = await emulator.invoke(admin, general, "mileage tiers add", name="Boss", threshold=10, role=boss)
    await emulator.invoke(admin, general, "mileage tiers add", name="Low", threshold=5, role=low)
    await emulator.invoke(admin, general, "mileage give", member=member, points=20, reason="r")
    await eventually(lambda: low.id in roles_of(emulator, guild, member), what="the grantable role")

    synced = await emulator.invoke(admin, general, "mileage sync-roles")
    listed = await emulator.invoke(admin, general, "mileage tiers list")

    assert "cannot grant" in (added.content or "")
    assert boss.id not in roles_of(emulator, guild, member)
    assert "@Boss" in (synced.content or "") and "403" in (synced.content or "")
    assert "403" in listed.embeds[0]["description"]
    assert any(a.status == 403 for a in emulator.requests if "/roles/" in a.path)


async def test_promotions_are_announced_unless_the_member_opted_out(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    await _tiers(emulator, guild, admin)
    quiet = emulator.create_member(guild, "quiet")
    answer = await emulator.invoke(quiet, general, "mileage notify", state="off")
    assert "now **off**" in (answer.content or "")

    for i in range(2):
        await emulator.send_message(member, general, f"chat {i}")
        await emulator.send_message(quiet, general, f"chat {i}")
    await eventually(
        lambda: any(
            "reached the **Bronze** tier" in (m.get("content") or "") for m in emulator.sent_messages(general.id)
        ),
        what="the announcement",
    )
    await settled(runtime)

    texts = [m.get("content") or "" for m in emulator.sent_messages(general.id)]
    assert any(f"<@{member.user_id}> reached the **Bronze** tier with 20 points" in t for t in texts)
    assert not any(f"<@{quiet.user_id}>" in t for t in texts)


async def test_switching_to_replace_mode_takes_the_lower_roles_back(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    bronze, silver = await _tiers(emulator, guild, admin)
    await emulator.invoke(admin, general, "mileage give", member=member, points=60, reason="r")
    await eventually(lambda: {bronze.id, silver.id} <= roles_of(emulator, guild, member), what="both roles")

    answer = await emulator.invoke(admin, general, "config set", plugin="mileage", key="tier_mode", value="replace")

    assert "Saved" in (answer.content or "")
    await eventually(lambda: bronze.id not in roles_of(emulator, guild, member), what="Bronze taken back")
    assert silver.id in roles_of(emulator, guild, member)


async def test_the_sweep_gives_back_a_tier_role_removed_by_hand(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    bronze, _ = await _tiers(emulator, guild, admin)
    await emulator.invoke(admin, emulator.general(guild), "mileage give", member=member, points=25, reason="r")
    await eventually(lambda: bronze.id in roles_of(emulator, guild, member), what="Bronze")
    await emulator.remove_role(guild, member, bronze)
    await eventually(lambda: bronze.id not in roles_of(emulator, guild, member), what="Bronze removed by hand")

    await state(runtime).sweep()

    await eventually(lambda: bronze.id in roles_of(emulator, guild, member), what="Bronze given back")
