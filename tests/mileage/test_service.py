"""The ledger service on SQLite and PostgreSQL, without Discord: levels, idempotency, reversals, rollups, import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core import db
from core.migrator import upgrade_all
from core.testing.pytest_plugin import eventually
from plugins.mileage import service as service_module
from plugins.mileage.levels import Curve, TierRule, desired_roles, level_of
from plugins.mileage.service import AlreadyReversed, Award, ImportInvalid, MileageService, parse_import

MODELS = {"mileage": "plugins.mileage.models"}


@pytest_asyncio.fixture
async def ledger(database_url: str) -> AsyncIterator[MileageService]:
    await db.connect(database_url, MODELS)
    try:
        await upgrade_all(database_url, MODELS, connected=True)
        yield MileageService()
    finally:
        await db.close()


@pytest.mark.parametrize(("xp", "level"), [(0, 0), (99, 0), (100, 1), (254, 1), (255, 2), (1150, 5), (4675, 10)])
def test_the_default_curve_gives_mee6_levels(xp: int, level: int) -> None:
    assert level_of(xp, Curve()).level == level


def test_a_custom_curve_and_huge_totals_are_computed_at_once() -> None:
    assert level_of(10, Curve(0, 0, 5)).level == 2
    assert level_of(10**12, Curve()).level > 8000


def test_stack_and_replace_roles() -> None:
    tiers = [
        TierRule(1, "A", "points", 10, 100),
        TierRule(2, "B", "level", 1, 200),
        TierRule(3, "C", "points", 500, 300),
    ]

    assert desired_roles(150, tiers, Curve(), "stack") == {100, 200}
    assert desired_roles(150, tiers, Curve(), "replace") == {200}
    assert desired_roles(5, tiers, Curve(), "stack") == set()


async def test_keys_make_awards_idempotent_and_totals_follow_events(ledger: MileageService) -> None:
    awards = [
        Award(1, 10, 5, "message", "msg:1"),
        Award(1, 10, 7, "message", "msg:2"),
        Award(1, 11, 3, "message", "msg:3"),
    ]

    first = await ledger.apply(awards)
    again = await ledger.apply([*awards, Award(1, 10, 1, "message", "msg:1")])

    assert [a.new_total for a in first] == [12, 12, 3]
    assert again == []
    assert await ledger.totals(1) == {10: 12, 11: 3}
    assert [(d.isoformat(), p) for d, p in await ledger.per_day(1, 1)] == [
        (service_module.utcnow().date().isoformat(), 15)
    ]


async def test_a_reversal_is_unique_per_event_even_with_another_key(ledger: MileageService) -> None:
    applied = await ledger.adjust(1, 10, 40, actor_id=5, reason="gift")
    reversal = await ledger.reverse(1, applied.event_id, actor_id=5, reason="oops")

    sneaky = await ledger.apply([Award(1, 10, -40, "reversal", "other-key", reverses_id=applied.event_id)])

    with pytest.raises(AlreadyReversed):
        await ledger.reverse(1, applied.event_id, actor_id=5, reason="again")
    assert reversal.new_total == 0 and sneaky == []
    assert await ledger.total(1, 10) == 0


async def test_big_windowed_boards_are_refreshed_in_the_background(
    ledger: MileageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = service_module.WINDOW_CACHE_MIN
    await ledger.apply([Award(2, 1000 + i, 1 + i, "message", f"m{i}") for i in range(members)])
    monkeypatch.setattr(service_module, "WINDOW_TTL", 0.0)

    first = await ledger.leaderboard(2, window="7d")
    await ledger.apply([Award(2, 5, 10**6, "manual", "big")])
    stale = await ledger.leaderboard(2, window="7d")  # answers at once and refreshes behind

    async def refreshed() -> bool:
        return (await ledger.leaderboard(2, window="7d")).rows[0].user_id == 5

    assert first.rows[0].points == members and first.total_members == members
    assert stale.rows[0].points == members
    assert await eventually(refreshed, what="the refreshed ranking")


def test_import_reads_a_dict_of_players_and_refuses_foreign_levels() -> None:
    as_dict = json.dumps({"300000000000000001": {"xp": 255, "level": 2}}).encode()
    wrong_curve = json.dumps([{"id": "300000000000000001", "xp": 255, "level": 7}]).encode()

    rows, digest = parse_import(as_dict, Curve())

    assert [(r.user_id, r.points) for r in rows] == [(300000000000000001, 255)] and len(digest) == 64
    with pytest.raises(ImportInvalid, match="do not follow this server's level curve"):
        parse_import(wrong_curve, Curve())


async def test_an_import_is_all_or_nothing_and_idempotent(ledger: MileageService) -> None:
    rows, digest = parse_import(b"300000000000000001,10\n300000000000000002,20\n", Curve())

    first = await ledger.import_rows(3, rows, digest, actor_id=None)
    second = await ledger.import_rows(3, rows, digest, actor_id=None)

    assert (first.members, first.points, second.members, second.skipped) == (2, 30, 0, 2)
    assert sum((await ledger.totals(3)).values()) == 30


async def test_reset_is_recorded_and_totals_stay_consistent(ledger: MileageService) -> None:
    await ledger.apply([Award(4, 1, 50, "message", "a"), Award(4, 2, 30, "message", "b")])

    reset = await ledger.reset(4, None, actor_id=9, reason="season")
    undo = await ledger.reverse(4, reset[0].event_id, actor_id=9, reason="back")

    assert sorted(a.award.points for a in reset) == [-50, -30]
    assert undo.new_total in (50, 30)
    assert len(await ledger.history(4)) == 5


async def test_big_guilds_rank_from_the_kept_all_time_ranking(ledger: MileageService) -> None:
    members = service_module.WINDOW_CACHE_MIN
    await ledger.apply([Award(5, 1000 + i, 1 + i // 2, "message", f"a{i}") for i in range(members)])

    live = await ledger.standing(5, 1000 + 10)  # no kept ranking yet: counted in the database
    board = await ledger.leaderboard(5, page=3, per_page=10)  # a big guild: the ranking is kept from now on
    kept = await ledger.standing(5, 1000 + 10)

    assert (live.points, live.rank) == (6, members - 11)  # ties share a rank
    assert (kept.points, kept.rank) == (live.points, live.rank)
    assert board.total_members == members and [r.rank for r in board.rows][:2] == [21, 21]
