"""The mileage ledger: events, member totals and daily rollups written together; leaderboards; import and export.

Free of Discord and HTTP types. Every write goes through :meth:`MileageService.apply`, which inserts the events
(skipping those whose idempotency key the guild has already seen), adds them to the members' totals and to the
daily rollups, all in one transaction, in a few multi-row statements whatever the batch size.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.plugin import OmoError

from .levels import Curve, TierRule
from .models import LedgerEvent, MemberTotal, Tier

log = structlog.get_logger("omo.plugins.mileage")

KINDS = ("message", "voice", "manual", "reversal", "import", "reset", "plugin")
MAX_POINTS = 10**12
MAX_ADJUST = 10**9
MAX_IMPORT_ROWS = 200_000
MAX_TIERS = 25
BATCH_ROWS = 500
WINDOWS = {"all": None, "30d": 30, "7d": 7}
#: Rankings (all time, 30 d, 7 d) of guilds with at least this many ranked members are kept in memory and
#: refreshed in the background every WINDOW_TTL seconds: pages and ranks there may be that much behind.
WINDOW_CACHE_MIN = 2000
WINDOW_TTL = 60.0
#: The "window" of the all-time ranking in the kept rankings.
ALL_TIME = 0


class MileageError(OmoError):
    """A refused mileage operation; ``str()`` is a message for the user."""


class EventNotFound(MileageError):
    """No ledger event of that id in this guild."""


class AlreadyReversed(MileageError):
    """The event has been reversed before."""


class ImportInvalid(MileageError):
    """An import file was refused as a whole; ``problems`` lists what was wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"Nothing was imported: {shown}")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Award:
    """One event to write. ``key`` is the idempotency key (unique per guild)."""

    guild_id: int
    user_id: int
    points: int
    kind: str
    key: str
    reason: str = ""
    source: str = "mileage"
    actor_id: int | None = None
    reverses_id: int | None = None
    at: datetime = field(default_factory=utcnow)
    messages: int = 0


@dataclass(frozen=True)
class Applied:
    """An event that was written, with the member's total before and after the batch it was in."""

    award: Award
    event_id: int
    old_total: int
    new_total: int


@dataclass(frozen=True)
class Standing:
    """A member's figures."""

    user_id: int
    points: int
    rank: int
    messages: int
    notify: bool


@dataclass(frozen=True)
class BoardRow:
    """One leaderboard row."""

    rank: int
    user_id: int
    points: int


@dataclass(frozen=True)
class Board:
    """A leaderboard page."""

    window: str
    page: int
    per_page: int
    total_members: int
    rows: list[BoardRow]

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total_members // self.per_page))


@dataclass(frozen=True)
class ImportRow:
    """One member of an import file."""

    user_id: int
    points: int
    messages: int = 0
    level: int | None = None


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    members: int
    points: int
    skipped: int
    digest: str


EVENT_COLUMNS = (
    ("guild_id", "bigint"),
    ("user_id", "bigint"),
    ("points", "bigint"),
    ("kind", "text"),
    ("reason", "text"),
    ("source", "text"),
    ("actor_id", "bigint"),
    ("key", "text"),
    ("reverses_id", "bigint"),
    ("created_at", "timestamptz"),
)
MEMBER_COLUMNS = (
    ("guild_id", "bigint"),
    ("user_id", "bigint"),
    ("points", "bigint"),
    ("messages", "bigint"),
    ("last_message_at", "timestamptz"),
    ("notify", "boolean"),
    ("updated_at", "timestamptz"),
)
DAILY_COLUMNS = (("guild_id", "bigint"), ("user_id", "bigint"), ("day", "date"), ("points", "bigint"))


async def _insert_rows(
    conn: BaseDBAsyncClient, table: str, columns: tuple[tuple[str, str], ...], rows: list[tuple[Any, ...]], tail: str
) -> list[dict[str, Any]]:
    """``INSERT INTO table (...) <rows> <tail>`` in chunks; the rows RETURNING gives. On PostgreSQL the rows go
    as one array per column through ``unnest``, so the statement text (and its prepared plan) is the same
    whatever the batch size; on SQLite as a multi-row VALUES list."""
    names = ", ".join(name for name, _ in columns)
    out: list[dict[str, Any]] = []
    postgres = _dialect(conn) == "postgres"
    for start in range(0, len(rows), BATCH_ROWS):
        chunk = rows[start : start + BATCH_ROWS]
        if postgres:
            arrays = ", ".join(f"${i + 1}::{kind}[]" for i, (_, kind) in enumerate(columns))
            sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {tail}"
            values: list[Any] = [list(column) for column in zip(*chunk, strict=True)]
        else:
            one = "(" + ", ".join("?" * len(columns)) + ")"
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(chunk))} {tail}"
            values = [value for row in chunk for value in row]
        out += await conn.execute_query_dict(sql, values)
    return out


def _param(dialect: str, n: int) -> str:
    return f"${n}" if dialect == "postgres" else "?"


def _dialect(conn: BaseDBAsyncClient) -> str:
    return str(conn.capabilities.dialect)


def _ts(value: Any) -> datetime | None:
    """A timestamp from a raw row (asyncpg: datetime; SQLite: ISO text)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _apply(conn: BaseDBAsyncClient, awards: Sequence[Award]) -> list[Applied]:
    """Write ``awards`` on ``conn`` (inside the caller's transaction): events, totals, rollups."""
    unique: dict[tuple[int, str], Award] = {}
    for award in awards:
        unique.setdefault((award.guild_id, award.key), award)
    items = list(unique.values())
    returned = await _insert_rows(
        conn,
        "mileage_event",
        EVENT_COLUMNS,
        [
            (a.guild_id, a.user_id, a.points, a.kind, a.reason, a.source, a.actor_id, a.key, a.reverses_id, a.at)
            for a in items
        ],
        "ON CONFLICT DO NOTHING RETURNING id, guild_id, key",
    )
    written = {(int(row["guild_id"]), str(row["key"])): int(row["id"]) for row in returned}
    done = [a for a in items if (a.guild_id, a.key) in written]
    if not done:
        return []
    members: dict[tuple[int, int], list[Any]] = {}
    days: dict[tuple[int, int, date], int] = {}
    now = utcnow()
    for a in done:
        m = members.setdefault((a.guild_id, a.user_id), [0, 0, None])
        m[0] += a.points
        m[1] += a.messages
        if a.kind == "message" and (m[2] is None or a.at > m[2]):
            m[2] = a.at
        day_key = (a.guild_id, a.user_id, a.at.astimezone(UTC).date())
        days[day_key] = days.get(day_key, 0) + a.points
    returned = await _insert_rows(
        conn,
        "mileage_member",
        MEMBER_COLUMNS,
        [(gid, uid, pts, msgs, last, True, now) for (gid, uid), (pts, msgs, last) in members.items()],
        "ON CONFLICT (guild_id, user_id) DO UPDATE SET points = mileage_member.points + excluded.points, "
        "messages = mileage_member.messages + excluded.messages, "
        "last_message_at = CASE WHEN excluded.last_message_at IS NULL THEN mileage_member.last_message_at "
        "WHEN mileage_member.last_message_at IS NULL THEN excluded.last_message_at "
        "WHEN excluded.last_message_at > mileage_member.last_message_at THEN excluded.last_message_at "
        "ELSE mileage_member.last_message_at END, updated_at = excluded.updated_at "
        "RETURNING guild_id, user_id, points",
    )
    totals = {(int(row["guild_id"]), int(row["user_id"])): int(row["points"]) for row in returned}
    await _insert_rows(
        conn,
        "mileage_daily",
        DAILY_COLUMNS,
        [(gid, uid, day, pts) for (gid, uid, day), pts in days.items()],
        "ON CONFLICT (guild_id, user_id, day) DO UPDATE SET points = mileage_daily.points + excluded.points",
    )
    out = []
    for a in done:
        new = totals[(a.guild_id, a.user_id)]
        out.append(Applied(a, written[(a.guild_id, a.key)], new - members[(a.guild_id, a.user_id)][0], new))
    return out


def manual_key() -> str:
    """A fresh idempotency key for an event that has no natural one."""
    return f"op:{uuid.uuid4().hex}"


class MileageService:
    """The ledger and what is read from it. One per runtime; stateless apart from the database."""

    def __init__(self, connection: str = "default") -> None:
        self.connection = connection
        self._windows: dict[tuple[int, int], tuple[float, list[BoardRow], list[int]]] = {}
        self._refreshing: dict[tuple[int, int], asyncio.Task[list[BoardRow]]] = {}

    # ------------------------------------------------------------------------------ writing
    async def apply(self, awards: Sequence[Award]) -> list[Applied]:
        """Write ``awards`` in one transaction; events whose key the guild already has are skipped."""
        if not awards:
            return []
        async with in_transaction(self.connection) as conn:
            return await _apply(conn, awards)

    async def adjust(
        self, guild_id: int, user_id: int, points: int, *, actor_id: int | None, reason: str, kind: str = "manual"
    ) -> Applied:
        """A manual give (positive) or take (negative)."""
        if points == 0 or abs(points) > MAX_ADJUST:
            raise MileageError(f"Points must be between 1 and {MAX_ADJUST:,} (got {points:,}).")
        award = Award(guild_id, user_id, points, kind, manual_key(), clip(reason), actor_id=actor_id)
        return (await self.apply([award]))[0]

    async def reverse(self, guild_id: int, event_id: int, *, actor_id: int | None, reason: str) -> Applied:
        """Undo one event with a reversal event pointing at it (an event can be reversed once)."""
        event = await LedgerEvent.get_or_none(id=event_id, guild_id=guild_id)
        if event is None:
            raise EventNotFound(f"There is no mileage event #{event_id} in this server.")
        if event.kind == "reversal":
            raise MileageError(f"Event #{event_id} is itself a reversal; it cannot be reversed.")
        award = Award(
            guild_id,
            event.user_id,
            -event.points,
            "reversal",
            f"reverse:{event.id}",
            clip(reason) or f"reverses #{event.id}",
            actor_id=actor_id,
            reverses_id=event.id,
        )
        done = await self.apply([award])
        if not done:
            by = await LedgerEvent.get_or_none(guild_id=guild_id, reverses_id=event.id)
            raise AlreadyReversed(f"Event #{event_id} was already reversed" + (f" by event #{by.id}." if by else "."))
        return done[0]

    async def reset(
        self, guild_id: int, user_ids: Iterable[int] | None, *, actor_id: int | None, reason: str
    ) -> list[Applied]:
        """Bring members (None: every member) to zero with one reversible ``reset`` event each."""
        async with in_transaction(self.connection) as conn:
            query = MemberTotal.filter(guild_id=guild_id).exclude(points=0).using_db(conn)
            if user_ids is not None:
                query = query.filter(user_id__in=list(user_ids))
            if _dialect(conn) == "postgres":
                query = query.select_for_update()
            rows = await query.values_list("user_id", "points")
            batch = manual_key()
            awards = [
                Award(guild_id, int(uid), -int(pts), "reset", f"reset:{batch}:{uid}", clip(reason), actor_id=actor_id)
                for uid, pts in rows
            ]
            return await _apply(conn, awards)

    async def set_notify(self, guild_id: int, user_id: int, notify: bool) -> None:
        """A member's announcement opt-out."""
        updated = await MemberTotal.filter(guild_id=guild_id, user_id=user_id).update(notify=notify)
        if not updated:
            await MemberTotal.get_or_create(
                guild_id=guild_id, user_id=user_id, defaults={"notify": notify, "updated_at": utcnow()}
            )

    # ------------------------------------------------------------------------------ reading
    async def total(self, guild_id: int, user_id: int) -> int:
        """A member's points (0 when unknown)."""
        rows: list[Any] = await MemberTotal.filter(guild_id=guild_id, user_id=user_id).values_list("points", flat=True)
        return int(rows[0]) if rows else 0

    async def standing(self, guild_id: int, user_id: int) -> Standing:
        """Points, rank (ties share a rank), messages and opt-in of a member."""
        row = await MemberTotal.get_or_none(guild_id=guild_id, user_id=user_id)
        points = row.points if row else 0
        snapshot = self._snapshot(guild_id, ALL_TIME)
        if snapshot is not None:
            above = bisect.bisect_left(snapshot, -points)
        else:
            above = await MemberTotal.filter(guild_id=guild_id, points__gt=points).count()
        return Standing(user_id, points, above + 1, row.messages if row else 0, row.notify if row else True)

    async def notify_of(self, guild_id: int, user_ids: Iterable[int]) -> dict[int, bool]:
        """Announcement opt-in of members (True unless they opted out)."""
        ids = list(user_ids)
        rows = await MemberTotal.filter(guild_id=guild_id, user_id__in=ids).values_list("user_id", "notify")
        found = {int(u): bool(n) for u, n in rows}
        return {u: found.get(u, True) for u in ids}

    async def totals(self, guild_id: int, user_ids: Iterable[int] | None = None) -> dict[int, int]:
        """Points per member (every member with a total, or the given ones)."""
        query = MemberTotal.filter(guild_id=guild_id)
        if user_ids is not None:
            query = query.filter(user_id__in=list(user_ids))
        return {int(u): int(p) for u, p in await query.values_list("user_id", "points")}

    async def leaderboard(self, guild_id: int, *, window: str = "all", page: int = 1, per_page: int = 10) -> Board:
        """One page of the leaderboard: all time from the totals, 30d/7d from the daily rollups."""
        if window not in WINDOWS:
            raise MileageError(f"Unknown window {window!r}: use all, 30d or 7d.")
        page = max(1, page)
        offset = (page - 1) * per_page
        conn = connections.get(self.connection)
        dialect = _dialect(conn)
        p = lambda n: _param(dialect, n)  # noqa: E731
        days = WINDOWS[window]
        if days is not None or (guild_id, ALL_TIME) in self._windows:
            ranking = await self._window_ranking(conn, dialect, guild_id, days or ALL_TIME)
            return Board(window, page, per_page, len(ranking), ranking[offset : offset + per_page])
        count_sql = f"SELECT COUNT(*) AS n FROM mileage_member WHERE guild_id = {p(1)} AND points > 0"
        sql = (
            f"SELECT user_id, points FROM mileage_member WHERE guild_id = {p(1)} AND points > 0 "
            f"ORDER BY points DESC, user_id DESC LIMIT {p(2)} OFFSET {p(3)}"
        )
        counted = await conn.execute_query_dict(count_sql, [guild_id])
        rows = await conn.execute_query_dict(sql, [guild_id, per_page, offset])
        board_rows = []
        rank = offset
        previous: int | None = None
        for i, row in enumerate(rows):
            pts = int(row["points"])
            if pts != previous:
                rank = offset + i + 1
                if i == 0 and offset:
                    above = await conn.execute_query_dict(
                        f"SELECT COUNT(*) AS n FROM mileage_member WHERE guild_id = {p(1)} AND points > {p(2)}",
                        [guild_id, pts],
                    )
                    rank = int(above[0]["n"]) + 1
            board_rows.append(BoardRow(rank, int(row["user_id"]), pts))
            previous = pts
        ranked = int(counted[0]["n"])
        if ranked >= WINDOW_CACHE_MIN:  # a big guild: from now on served from a ranking kept in memory
            await self._window_ranking(conn, dialect, guild_id, ALL_TIME)
        return Board(window, page, per_page, ranked, board_rows)

    def _snapshot(self, guild_id: int, days: int) -> list[int] | None:
        """The kept ranking's points, negated (ascending), for rank lookups by bisection; None if not kept."""
        cached = self._windows.get((guild_id, days))
        return cached[2] if cached is not None else None

    async def _window_ranking(self, conn: BaseDBAsyncClient, dialect: str, guild_id: int, days: int) -> list[BoardRow]:
        """The whole ranking of a window from the daily rollups. In a big guild it is kept and refreshed in the
        background once older than ``WINDOW_TTL`` seconds (readers get the previous ranking meanwhile: windowed
        boards may be that much behind); small guilds read it live."""
        key = (guild_id, days)
        cached = self._windows.get(key)
        if cached is not None:
            if cached[0] <= time.monotonic() and key not in self._refreshing:
                task = asyncio.get_running_loop().create_task(self._refresh_window(conn, dialect, guild_id, days))
                self._refreshing[key] = task
                task.add_done_callback(lambda _t: self._refreshing.pop(key, None))
            return cached[1]
        return await self._refresh_window(conn, dialect, guild_id, days)

    async def _refresh_window(self, conn: BaseDBAsyncClient, dialect: str, guild_id: int, days: int) -> list[BoardRow]:
        if days == ALL_TIME:
            sql = (
                f"SELECT user_id, points FROM mileage_member WHERE guild_id = {_param(dialect, 1)} AND points > 0 "
                "ORDER BY points DESC, user_id DESC"
            )
            args: list[Any] = [guild_id]
        else:
            sql = (
                "SELECT user_id, SUM(points) AS points FROM mileage_daily "
                f"WHERE guild_id = {_param(dialect, 1)} AND day >= {_param(dialect, 2)} "
                "GROUP BY user_id HAVING SUM(points) > 0 ORDER BY points DESC, user_id DESC"
            )
            args = [guild_id, utcnow().date() - timedelta(days=days - 1)]
        try:
            rows = await conn.execute_query_dict(sql, args)
        except Exception:
            if (guild_id, days) in self._windows:  # a background refresh: keep the previous ranking, log
                log.exception("mileage: windowed ranking refresh failed", guild_id=guild_id, days=days)
                return self._windows[(guild_id, days)][1]
            raise
        ranking: list[BoardRow] = []
        previous, rank = None, 0
        for i, row in enumerate(rows):
            pts = int(row["points"])
            if pts != previous:
                rank, previous = i + 1, pts
            ranking.append(BoardRow(rank, int(row["user_id"]), pts))
        if len(ranking) >= WINDOW_CACHE_MIN:
            if len(self._windows) > 256:
                self._windows.clear()
            self._windows[(guild_id, days)] = (time.monotonic() + WINDOW_TTL, ranking, [-r.points for r in ranking])
        return ranking

    async def history(
        self, guild_id: int, user_id: int | None = None, *, limit: int = 20, before: int | None = None
    ) -> list[LedgerEvent]:
        """Ledger events, newest first (of one member, or the whole guild)."""
        query = LedgerEvent.filter(guild_id=guild_id)
        if user_id is not None:
            query = query.filter(user_id=user_id)
        if before is not None:
            query = query.filter(id__lt=before)
        return await query.order_by("-id").limit(max(1, min(limit, 200)))

    async def reversed_ids(self, guild_id: int, event_ids: Iterable[int]) -> dict[int, int]:
        """Which of ``event_ids`` were reversed: event id -> the reversal's id."""
        ids = list(event_ids)
        if not ids:
            return {}
        rows = await LedgerEvent.filter(guild_id=guild_id, reverses_id__in=ids).values_list("reverses_id", "id")
        return {int(r): int(i) for r, i in rows}

    async def per_day(self, guild_id: int, days: int = 30, user_id: int | None = None) -> list[tuple[date, int]]:
        """Net points earned per UTC day over the last ``days`` days (zeros included), oldest first."""
        conn = connections.get(self.connection)
        dialect = _dialect(conn)
        since = utcnow().date() - timedelta(days=days - 1)
        sql = f"SELECT day, SUM(points) AS points FROM mileage_daily WHERE guild_id = {_param(dialect, 1)} "
        args: list[Any] = [guild_id, since]
        sql += f"AND day >= {_param(dialect, 2)} "
        if user_id is not None:
            sql += f"AND user_id = {_param(dialect, 3)} "
            args.append(user_id)
        rows = await conn.execute_query_dict(sql + "GROUP BY day", args)
        found = {
            (r["day"] if isinstance(r["day"], date) else date.fromisoformat(str(r["day"]))): int(r["points"])
            for r in rows
        }
        return [(since + timedelta(days=i), found.get(since + timedelta(days=i), 0)) for i in range(days)]

    async def recent_message_times(self, guild_id: int, since: datetime) -> dict[int, datetime]:
        """When members last earned from a message, for those who did after ``since`` (seeds cooldowns)."""
        rows = await MemberTotal.filter(guild_id=guild_id, last_message_at__gte=since).values_list(
            "user_id", "last_message_at"
        )
        return {int(u): t for u, t in ((u, _ts(t)) for u, t in rows) if t is not None}

    async def member_count(self, guild_id: int) -> int:
        """Members with a non-zero total."""
        return await MemberTotal.filter(guild_id=guild_id).exclude(points=0).count()

    # ------------------------------------------------------------------------------ tiers
    async def tiers(self, guild_id: int) -> list[TierRule]:
        """The guild's tiers."""
        rows = await Tier.filter(guild_id=guild_id).order_by("threshold", "name")
        return [TierRule(t.id, t.name, t.basis, int(t.threshold), t.role_id) for t in rows]

    async def add_tier(self, guild_id: int, name: str, threshold: int, basis: str, role_id: int | None) -> TierRule:
        """Add or replace the tier called ``name``."""
        name = clip(name, 64).strip()
        if not name:
            raise MileageError("A tier needs a name (1 to 64 characters).")
        if basis not in ("points", "level"):
            raise MileageError("The basis must be points or level.")
        limit = MAX_POINTS if basis == "points" else 10_000
        if not 0 <= threshold <= limit:
            raise MileageError(f"The threshold must be between 0 and {limit:,} {basis}.")
        existing = await Tier.get_or_none(guild_id=guild_id, name=name)
        if existing is None and await Tier.filter(guild_id=guild_id).count() >= MAX_TIERS:
            raise MileageError(f"A server can have at most {MAX_TIERS} tiers.")
        if role_id is not None and await Tier.filter(guild_id=guild_id, role_id=role_id).exclude(name=name).exists():
            raise MileageError("That role is already granted by another tier.")
        if existing is None:
            existing = await Tier.create(
                guild_id=guild_id, name=name, basis=basis, threshold=threshold, role_id=role_id
            )
        else:
            existing.basis, existing.threshold, existing.role_id = basis, threshold, role_id
            await existing.save()
        return TierRule(existing.id, existing.name, existing.basis, int(existing.threshold), existing.role_id)

    async def remove_tier(self, guild_id: int, name: str) -> TierRule:
        """Remove the tier called ``name``."""
        tier = await Tier.get_or_none(guild_id=guild_id, name=clip(name, 64).strip())
        if tier is None:
            names = ", ".join(t.name for t in await self.tiers(guild_id)) or "none"
            raise MileageError(f"There is no tier called {name[:64]!r} (tiers: {names}).")
        await tier.delete()
        return TierRule(tier.id, tier.name, tier.basis, int(tier.threshold), tier.role_id)

    # ------------------------------------------------------------------------------ import / export
    async def import_rows(
        self, guild_id: int, rows: list[ImportRow], digest: str, actor_id: int | None
    ) -> ImportResult:
        """Add every row as one ``import`` event, all in one transaction; the same file twice adds nothing."""
        awards = [
            Award(
                guild_id,
                r.user_id,
                r.points,
                "import",
                f"import:{digest[:40]}:{r.user_id}",
                "import",
                actor_id=actor_id,
                messages=r.messages,
            )
            for r in rows
        ]
        async with in_transaction(self.connection) as conn:
            done = await _apply(conn, awards)
        return ImportResult(len(done), sum(a.award.points for a in done), len(rows) - len(done), digest)

    async def export_csv(self, guild_id: int, curve: Curve) -> str:
        """``member_id,points,level`` for every member with a total, highest first."""
        from .levels import level_of

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["member_id", "points", "level"])
        rows = (
            await MemberTotal.filter(guild_id=guild_id).order_by("-points", "user_id").values_list("user_id", "points")
        )
        for uid, pts in rows:
            writer.writerow([uid, pts, level_of(int(pts), curve).level])
        return out.getvalue()


def clip(text: str | None, limit: int = 200) -> str:
    """Text without control characters, at most ``limit`` characters."""
    if not text:
        return ""
    return "".join(ch for ch in text if ch >= " " or ch == "\n")[:limit]


# ---------------------------------------------------------------------------------- import parsing
def _snowflake(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit() and len(value) <= 20:
        number = int(value)
    else:
        return None
    return number if 0 < number < 2**63 else None


def _count(value: Any, limit: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= limit:
        return value
    return None


def _players(data: Any) -> list[Any] | None:
    if isinstance(data, dict) and isinstance(data.get("players"), list):
        return list(data["players"])
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        return [{"id": k, **v} for k, v in data.items()]
    return None


def parse_import(content: bytes, curve: Curve) -> tuple[list[ImportRow], str]:
    """Read a MEE6 leaderboard JSON (``players``: id, xp, level, message_count — the API answer, or a saved
    list or dict of players) or a CSV ``member_id,points``; the whole file is checked and refused as a whole.
    Returns the rows and the file's digest (the idempotency of the import)."""
    from .levels import level_of

    digest = hashlib.sha256(content).hexdigest()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportInvalid(["the file is not UTF-8 text"]) from None
    if "\x00" in text:
        raise ImportInvalid(["the file contains NUL characters"])
    stripped = text.lstrip()
    if not stripped:
        raise ImportInvalid(["the file is empty"])
    problems: list[str] = []
    rows: list[ImportRow] = []
    if stripped[0] in "[{":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ImportInvalid([f"not valid JSON ({str(exc)[:80]})"]) from None
        players = _players(data)
        if players is None:
            raise ImportInvalid(['expected MEE6\'s leaderboard: {"players": [...]}, a list or a dict of players'])
        if len(players) > MAX_IMPORT_ROWS:
            raise ImportInvalid([f"{len(players):,} players is more than the {MAX_IMPORT_ROWS:,} allowed"])
        for i, player in enumerate(players, 1):
            if not isinstance(player, dict):
                problems.append(f"player {i} is not an object")
                continue
            uid = _snowflake(player.get("id"))
            xp = _count(player.get("xp"), MAX_POINTS)
            msgs = _count(player.get("message_count", 0), MAX_POINTS)
            level = player.get("level")
            if uid is None:
                problems.append(f"player {i}: id {str(player.get('id'))[:30]!r} is not a Discord id")
            if xp is None:
                problems.append(f"player {i}: xp {str(player.get('xp'))[:30]!r} is not a whole number ≥ 0")
            if msgs is None:
                problems.append(f"player {i}: message_count is not a whole number ≥ 0")
            if level is not None and _count(level, 100_000) is None:
                problems.append(f"player {i}: level {str(level)[:30]!r} is not a whole number ≥ 0")
            if uid is not None and xp is not None and msgs is not None:
                rows.append(ImportRow(uid, xp, msgs, _count(level, 100_000) if level is not None else None))
    else:
        reader = csv.reader(io.StringIO(text))
        for line_no, record in enumerate(reader, 1):
            if not record or all(not c.strip() for c in record):
                continue
            if line_no == 1 and record[0].strip().lower() in ("member_id", "id", "user_id"):
                continue
            if len(rows) + len(problems) >= MAX_IMPORT_ROWS:
                raise ImportInvalid([f"more than the {MAX_IMPORT_ROWS:,} rows allowed"])
            if len(record) not in (2, 3):
                problems.append(f"line {line_no}: expected member_id,points")
                continue
            uid, pts = _snowflake(record[0].strip()), _count(record[1].strip(), MAX_POINTS)
            if uid is None:
                problems.append(f"line {line_no}: {record[0][:30]!r} is not a Discord id")
            if pts is None:
                problems.append(f"line {line_no}: {record[1][:30]!r} is not a whole number of points ≥ 0")
            if uid is not None and pts is not None:
                rows.append(ImportRow(uid, pts))
    seen: set[int] = set()
    for row in rows:
        if row.user_id in seen:
            problems.append(f"member {row.user_id} appears twice")
        seen.add(row.user_id)
    if not rows and not problems:
        problems.append("no members in the file")
    if problems:
        raise ImportInvalid(problems)
    mismatched = [r for r in rows if r.level is not None and level_of(r.points, curve).level != r.level]
    if mismatched and len(mismatched) == len(rows):
        raise ImportInvalid(
            [f"the levels in the file do not follow this server's level curve (e.g. {mismatched[0].points} xp)"]
        )
    return rows, digest
