"""Earning through the emulator with the real discord.py client: messages, cooldown, exclusions, multipliers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import eventually
from tests.mileage.conftest import mileage_plugins, settled, state


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins(message_points_min=10, message_points_max=10, cooldown_seconds=60)


async def _total(runtime: Any, guild: Guild, member: Any) -> int:
    st = await settled(runtime)
    return int(await st.service.total(guild.id, member.user_id))


async def test_a_message_earns_points_and_the_cooldown_stops_the_next(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any
) -> None:
    general = emulator.general(guild)

    await emulator.send_message(member, general, "hello there")
    await eventually(lambda: state(runtime).earned >= 10, what="the first message earning")
    await emulator.send_message(member, general, "and again")
    await emulator.send_message(member, general, "and again!")

    async def events() -> list[Any]:
        await settled(runtime)
        return await state(runtime).service.history(guild.id, member.user_id)

    assert await _total(runtime, guild, member) == 10
    got = await events()
    assert [(e.kind, e.points) for e in got] == [("message", 10)]
    assert got[0].key.startswith("msg:")


async def test_100_concurrent_messages_of_one_member_earn_once(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any
) -> None:
    general = emulator.general(guild)

    await asyncio.gather(*(emulator.send_message(member, general, f"spam {i}") for i in range(100)))
    await eventually(lambda: state(runtime).handled >= 100, what="the bot handling the 100 messages")

    assert await _total(runtime, guild, member) == 10
    assert len(await state(runtime).service.history(guild.id, member.user_id)) == 1


async def test_bots_short_messages_and_exclusions_earn_nothing(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any, admin: Any
) -> None:
    general = emulator.general(guild)
    quiet = emulator.create_channel(guild, "quiet", "text")
    category = emulator.create_channel(guild, "Archive", "category")
    archived = emulator.create_channel(guild, "old", "text", parent=category)
    thread = emulator.create_channel(guild, "side", "thread", parent=quiet)
    muted_role = emulator.create_role(guild, "NoXP")
    muted = emulator.create_member(guild, "muted", roles=[muted_role])
    banned = emulator.create_member(guild, "banned")
    short = emulator.create_member(guild, "short")
    for key, value in (
        ("excluded_channels", f"{quiet.id}"),
        ("excluded_categories", f"{category.id}"),
        ("excluded_roles", f"{muted_role.id}"),
        ("excluded_members", f"{banned.user_id}"),
        ("min_message_length", "5"),
    ):
        answer = await emulator.invoke(admin, general, "config set", plugin="mileage", key=key, value=value)
        assert "Saved" in (answer.content or ""), answer.content

    await emulator.send_message(member, quiet, "in the quiet channel")
    await emulator.send_message(member, thread, "in a thread of the quiet channel")
    await emulator.send_message(member, archived, "in an archived category")
    await emulator.send_message(muted, general, "muted by role")
    await emulator.send_message(banned, general, "excluded member")
    await emulator.send_message(short, general, "hey")
    await emulator.send_message(admin, general, "this one earns")
    await eventually(lambda: state(runtime).earned >= 10, what="the admin's message earning")

    totals = await (await settled(runtime)).service.totals(guild.id)
    assert totals == {admin.user_id: 10}


async def test_multipliers_stack_global_role_channel(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any
) -> None:
    general = emulator.general(guild)
    booster = emulator.create_role(guild, "Booster")
    vip = emulator.create_role(guild, "VIP")
    member = emulator.create_member(guild, "boosted", roles=[booster, vip])
    thread = emulator.create_channel(guild, "thread", "thread", parent=general)
    settings = {
        "multiplier": "1.5",
        "role_multipliers": f"{booster.id}:2, {vip.id}:3",
        "channel_multipliers": f"{general.id}:2",
    }
    for key, value in settings.items():
        answer = await emulator.invoke(admin, general, "config set", plugin="mileage", key=key, value=value)
        assert "Saved" in (answer.content or ""), answer.content

    await emulator.send_message(member, thread, "a thread follows its parent channel's multiplier")

    # 10 points x 1.5 (global) x 3 (highest role) x 2 (parent channel of the thread)
    await eventually(lambda: state(runtime).earned >= 90, what="the boosted message")
    assert await _total(runtime, guild, member) == 90
    rank = await emulator.invoke(member, general, "mileage rank")
    fields = {f["name"]: f["value"] for f in rank.embeds[0]["fields"]}
    assert fields["Multiplier here"].startswith("x9")


async def test_a_replayed_message_after_a_resume_counts_once(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any, admin: Any
) -> None:
    general = emulator.general(guild)
    answer = await emulator.invoke(admin, general, "config set", plugin="mileage", key="cooldown_seconds", value="0s")
    assert "Saved" in (answer.content or "")
    await emulator.send_message(member, general, "before the drop")
    await eventually(lambda: state(runtime).handled >= 1, what="the first message")

    await emulator.drop_connection(0)  # the client resumes; the events it missed are replayed
    await emulator.send_message(member, general, "during the resume")
    await eventually(lambda: state(runtime).handled >= 2, what="the replayed message", timeout=15)
    # the same MESSAGE_CREATEs delivered again (a resume that replays what was already handled)
    for message in list(runtime.bot.cached_messages):
        runtime.bot.dispatch("message", message)
    await eventually(lambda: state(runtime).handled >= 4, what="the replays handled")

    assert await _total(runtime, guild, member) == 20
    assert len(await state(runtime).service.history(guild.id, member.user_id)) == 2
