"""``/mileage`` commands end to end through the emulator: good and bad arguments, admin checks."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import aiohttp
import pytest
from PIL import Image

from core.hooks import HookError
from core.testing.emulator import Attachment, Emulator, Guild
from core.testing.pytest_plugin import eventually
from tests.mileage.conftest import mileage_plugins, settled, state


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins(message_points_min=10, message_points_max=10, cooldown_seconds=0)


async def _download(url: str) -> bytes:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        return await resp.read()


async def test_rank_shows_figures_and_a_png_card_of_the_expected_size(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    gold = emulator.create_role(guild, "Gold")
    await emulator.invoke(admin, general, "mileage tiers add", name="Gold", threshold=100, role=gold)
    await emulator.invoke(admin, general, "mileage give", member=member, points=150, reason="welcome")
    await emulator.invoke(admin, general, "mileage give", member=admin, points=400, reason="welcome")

    rank = await emulator.invoke(member, general, "mileage rank")
    again = await emulator.invoke(admin, general, "mileage rank", member=member)

    fields = {f["name"]: f["value"] for f in rank.embeds[0]["fields"]}
    assert fields["Points"] == "150" and fields["Rank"] == "#2" and fields["Tier"] == "Gold"
    assert fields["Level"].startswith("1 (50/155)")  # 100 points to level 1, then 5+50+100 to level 2
    attachment = rank.message["attachments"][0]
    png = await _download(attachment["url"])
    with Image.open(io.BytesIO(png)) as img:
        assert (img.format, img.size) == ("PNG", (934, 282))
    assert await _download(again.message["attachments"][0]["url"]) == png  # same figures: the cached card
    assert [a["status"] for a in emulator.bot_actions("avatar.download")] == [200]  # drawn once, then cached


async def test_rank_card_falls_back_to_initials_when_the_avatar_cannot_be_fetched(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any
) -> None:
    emulator.fail_next("GET /embed/avatars/*", status=404)

    rank = await emulator.invoke(member, emulator.general(guild), "mileage rank")

    png = await _download(rank.message["attachments"][0]["url"])
    with Image.open(io.BytesIO(png)) as img:
        assert img.size == (934, 282)
    assert [a["status"] for a in emulator.bot_actions("avatar.download")] == [404]


async def test_rank_of_a_bot_is_refused(emulator: Emulator, runtime: Any, guild: Guild, member: Any) -> None:
    bot_member = emulator.world.guilds[guild.id].members[emulator.bot_user.id]

    answer = await emulator.invoke(member, emulator.general(guild), "mileage rank", member=bot_member)

    assert "Bots don't earn mileage" in (answer.content or "")


async def test_leaderboard_pages_windows_and_buttons(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any
) -> None:
    general = emulator.general(guild)
    people = [emulator.create_member(guild, f"p{i:02d}") for i in range(12)]
    for i, person in enumerate(people):
        await emulator.invoke(admin, general, "mileage give", member=person, points=100 + i, reason="seed")

    first = await emulator.invoke(admin, general, "mileage leaderboard")
    first_page = first.embeds[0]["description"].splitlines()
    first_footer = first.embeds[0]["footer"]["text"]
    week = await emulator.invoke(admin, general, "mileage leaderboard", window="7d", page=2)
    clicked = await emulator.click(admin, first.message, first.components[0]["components"][1]["custom_id"])
    missing = await emulator.invoke(admin, general, "mileage leaderboard", page=9)

    assert first_page[0] == f"**#1** <@{people[11].user_id}> — 111 points · level 1"
    assert len(first_page) == 10 and "Page 1 of 2" in first_footer
    assert week.embeds[0]["description"].splitlines() == [
        f"**#11** <@{people[1].user_id}> — 101 points",
        f"**#12** <@{people[0].user_id}> — 100 points",
    ]
    assert "Page 2 of 2" in clicked.message["embeds"][0]["footer"]["text"]
    assert "Page 9 does not exist" in (missing.content or "")


async def test_give_take_reverse_and_history(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    gave = await emulator.invoke(admin, general, "mileage give", member=member, points=50, reason="quiz")
    took = await emulator.invoke(admin, general, "mileage take", member=member, points=20, reason="spam")
    event_id = int((gave.content or "").split("event #")[1].split(")")[0])

    reversed_ = await emulator.invoke(admin, general, "mileage reverse", event=event_id, reason="mistake")
    twice = await emulator.invoke(admin, general, "mileage reverse", event=event_id)
    unknown = await emulator.invoke(admin, general, "mileage reverse", event=999999)
    history = await emulator.invoke(member, general, "mileage history")

    assert "Gave 50 points" in (gave.content or "") and "total 50" in (gave.content or "")
    assert "Took 20 points" in (took.content or "") and "total 30" in (took.content or "")
    assert "total -20" in (reversed_.content or "")
    assert f"Event #{event_id} was already reversed" in (twice.content or "")
    assert "no mileage event #999999" in (unknown.content or "")
    lines = history.embeds[0]["description"].splitlines()
    assert len(lines) == 3 and "reversal **-50**" in lines[0] and "reversed by #" in lines[2]


async def test_reset_is_reversible(emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any) -> None:
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "mileage give", member=member, points=70, reason="r")
    await emulator.invoke(admin, general, "mileage give", member=admin, points=30, reason="r")

    neither = await emulator.invoke(admin, general, "mileage reset")
    reset = await emulator.invoke(admin, general, "mileage reset", everyone=True)
    totals_after_reset = await state(runtime).service.totals(guild.id)
    events = await state(runtime).service.history(guild.id, member.user_id)
    undo = await emulator.invoke(admin, general, "mileage reverse", event=events[0].id)

    assert "Name a member" in (neither.content or "")
    assert "Reset 2 member(s) (100 points)" in (reset.content or "")
    assert totals_after_reset == {member.user_id: 0, admin.user_id: 0}
    assert "total 70" in (undo.content or "")
    assert len(await state(runtime).service.history(guild.id)) == 5  # nothing was deleted


async def test_admin_commands_are_refused_to_members_and_bad_arguments_explained(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, member: Any
) -> None:
    general = emulator.general(guild)
    refused = [
        await emulator.invoke(member, general, "mileage give", member=member, points=5, reason="me"),
        await emulator.invoke(member, general, "mileage sync-roles"),
        await emulator.invoke(member, general, "mileage export"),
        await emulator.invoke(member, general, "mileage history", member=admin),
    ]
    role = emulator.create_role(guild, "R")
    everyone = emulator.world.guilds[guild.id].everyone
    bad_tier = await emulator.invoke(admin, general, "mileage tiers add", name="X", threshold=5, role=everyone)
    await emulator.invoke(admin, general, "mileage tiers add", name="A", threshold=5, role=role)
    dup_role = await emulator.invoke(admin, general, "mileage tiers add", name="B", threshold=9, role=role)
    no_tier = await emulator.invoke(admin, general, "mileage tiers remove", name="nope")
    out_of_range = await emulator.invoke(admin, general, "mileage give", member=member, points=0, reason="zero")

    for answer in refused:
        assert "Manage Server" in (answer.content or "")
    assert "cannot be a tier role" in (bad_tier.content or "")
    assert "already granted by another tier" in (dup_role.content or "")
    assert "no tier called 'nope'" in (no_tier.content or "") and "tiers: A" in (no_tier.content or "")
    assert out_of_range.ephemeral and out_of_range.content  # Discord's range check, answered by discord.py
    assert await state(runtime).service.history(guild.id) == []


MEE6 = {
    "players": [
        {"id": "300000000000000001", "xp": 4675, "level": 10, "message_count": 250, "username": "a"},
        {"id": "300000000000000002", "xp": 1150, "level": 5, "message_count": 60, "username": "b"},
        {"id": "300000000000000003", "xp": 99, "level": 0, "message_count": 5, "username": "c"},
    ],
    "page": 0,
}


async def test_import_mee6_keeps_levels_is_idempotent_and_exports_csv(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any
) -> None:
    general = emulator.general(guild)
    data = json.dumps(MEE6).encode()

    first = await emulator.invoke(admin, general, "mileage import", file=Attachment("mee6.json", data))
    second = await emulator.invoke(admin, general, "mileage import", file=Attachment("mee6.json", data))
    exported = await emulator.invoke(admin, general, "mileage export")

    assert "Imported 3 member(s), 5,924 points" in (first.content or "")
    assert "Imported 0 member(s)" in (second.content or "") and "3 member(s) were already imported" in (
        second.content or ""
    )
    rows = list(csv.DictReader(io.StringIO((await _download(exported.message["attachments"][0]["url"])).decode())))
    levels = {r["member_id"]: int(r["level"]) for r in rows}
    assert levels == {p["id"]: p["level"] for p in MEE6["players"]}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"players": [{"id": "300000000000000001", "xp": -5}]}', "is not a whole number"),
        (b'{"players": [{"id": "abc", "xp": 5}]}', "is not a Discord id"),
        (b"[[[[[[", "not valid JSON"),
        (b"300000000000000001,10\n300000000000000001,20\n", "appears twice"),
        (b"300000000000000001,ten\n", "is not a whole number of points"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{}", "expected MEE6's leaderboard"),
    ],
)
async def test_a_bad_import_imports_nothing_and_says_why(
    emulator: Emulator, runtime: Any, guild: Guild, admin: Any, content: bytes, reason: str
) -> None:
    good_then_bad = b"300000000000000009,10\n" + content if content.startswith(b"3000") else content

    answer = await emulator.invoke(admin, emulator.general(guild), "mileage import", file=("f.csv", good_then_bad))

    assert "Nothing was imported" in (answer.content or "") and reason in (answer.content or ""), answer.content
    assert await state(runtime).service.history(guild.id) == []


async def test_other_plugins_award_points_through_the_hook_once_per_key(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any
) -> None:
    caller = state(runtime).plugin  # any plugin's context calls the hook the same way

    async def call(**kwargs: Any) -> Any:
        return await caller.call_hook("omo_award_points", **kwargs)

    kwargs = {"guild_id": guild.id, "user_id": member.user_id, "points": 12, "reason": "daily", "source": "dailies"}

    first = await call(**kwargs, key="daily:1")
    second = await call(**kwargs, key="daily:1")
    third = await call(**kwargs, key="daily:2")

    with pytest.raises(HookError, match="whole number"):
        await call(**{**kwargs, "points": 0}, key="daily:3")
    assert (first, second, third) == (12, 12, 24)
    await settled(runtime)
    kinds = [(e.kind, e.source, e.reason) for e in await state(runtime).service.history(guild.id)]
    assert kinds == [("plugin", "dailies", "daily")] * 2


async def test_earned_points_show_in_rank_after_messages(
    emulator: Emulator, runtime: Any, guild: Guild, member: Any
) -> None:
    await emulator.send_message(member, emulator.general(guild), "hello")
    await eventually(lambda: state(runtime).handled >= 1, what="the message handled")
    await settled(runtime)

    rank = await emulator.invoke(member, emulator.general(guild), "mileage rank")

    assert {f["name"]: f["value"] for f in rank.embeds[0]["fields"]}["Points"] == "10"
