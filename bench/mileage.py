"""mileage: bot CPU per message against a bare discord.py bot, and rank / leaderboard latency at scale.

``python -m bench mileage [--postgres ADMIN_URL] [--messages N] [--members M] [--scale-members K] [--scale-events E]``

(a) Three processes: the Discord emulator with a guild of ``--members`` members (it also generates the
    messages, so its CPU is its own), the bot, and this driver. The bot is first a bare discord.py client with an
    empty ``on_message``, then omo with mileage (a realistic guild: 60 s cooldown; then the worst case: cooldown 0,
    every message earns), each on a fresh database. The bot measures its own CPU time from the first message until
    it has handled every message and (mileage) written every point. ``ratio_*`` = bare CPU per message / mileage
    CPU per message (1.0 = no overhead). Points stored are checked against points earned. For reference, omo with
    the config plugin only (``omo_core_*``) shows what the framework itself costs per message.
(b) ``--scale-members`` members and ``--scale-events`` ledger events (rollups over 60 days) written straight into
    a fresh database; then ``/mileage rank``'s queries (standing, tiers, level) and the leaderboard (all time and
    30 days, random pages) are timed; the rank card drawing is timed separately (``card_render_ms_*``).
The last line is one JSON object (``bench: mileage``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from core.logging import configure_logging

log = structlog.get_logger("bench.mileage")
GUILD_NAME = "Bench guild"


def _cpu() -> float:
    return time.process_time()


# ------------------------------------------------------------------------------------------ emulator process
async def _emulator_main(members: int) -> None:
    """Serve a guild of ``members`` members; on ``go N`` from stdin, push N MESSAGE_CREATEs from random members."""
    from core.testing.emulator import Emulator
    from core.testing.emulator import payloads as P

    emu = Emulator(heartbeat_interval_ms=41250)
    await emu.start("127.0.0.1", 0)
    guild = emu.create_guild(GUILD_NAME)
    channel = emu.general(guild)
    people = [emu.create_member(guild, f"m{i}") for i in range(members)]
    template = P.message(emu.world, emu.world.add_message(channel, emu.world.users[people[0].user_id], content="x"))
    authors = [(P.user(emu.world.users[m.user_id]), P.member(emu.world, m, with_user=False)) for m in people]
    info = {
        "base_url": emu.base_url,
        "token": emu.bot_token,
        "application_id": emu.application_id,
        "secret": emu.client_secret,
        "guild_id": guild.id,
    }
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    rng = random.Random(7)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if not line or line == "quit":
            break
        count = int(line.split()[1])
        session = next(iter(emu.gateway.sessions.values()))
        cpu0, t0 = _cpu(), time.perf_counter()
        sent = 0
        while sent < count:
            conn = session.connection
            if conn is not None and conn.queue.qsize() > 2000:
                await conn.flushed.wait()
            for _ in range(min(200, count - sent)):
                author, member = authors[rng.randrange(len(authors))]
                template["id"] = str(emu.world.new_id())
                template["author"], template["member"] = author, member
                template["content"] = f"bench message {sent} with enough text"
                emu.gateway.dispatch("MESSAGE_CREATE", template, guild_id=guild.id, intent=P.INTENT_GUILD_MESSAGES)
                sent += 1
            await asyncio.sleep(0)
        sys.stdout.write(json.dumps({"sent": sent, "cpu": _cpu() - cpu0, "seconds": time.perf_counter() - t0}) + "\n")
        sys.stdout.flush()
    await emu.stop()


# ------------------------------------------------------------------------------------------ bot process
async def _bot_main(kind: str, info: dict[str, Any], expected: int, database_url: str, cooldown: int) -> None:
    """Connect a bare client or an omo runtime with mileage; measure CPU while ``expected`` messages arrive."""
    import discord

    from core.testing.emulator import point_discord_py_at

    point_discord_py_at(info["base_url"])
    seen = 0
    first_cpu: float | None = None
    first_wall = 0.0
    done = asyncio.Event()

    async def on_message(message: Any) -> None:
        nonlocal seen, first_cpu, first_wall
        if first_cpu is None:
            first_cpu, first_wall = _cpu(), time.perf_counter()
        seen += 1
        if seen >= expected:
            done.set()

    result: dict[str, Any] = {}
    if kind == "bare":
        intents = discord.Intents.default()
        intents.members = True
        intents.message_content = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        client.event(on_message)
        await client.login(info["token"])
        task = asyncio.get_running_loop().create_task(client.connect())
        await asyncio.wait_for(client.wait_until_ready(), 60)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.wait_for(done.wait(), 900)
        assert first_cpu is not None
        result = {"cpu": _cpu() - first_cpu, "seconds": time.perf_counter() - first_wall}
        await client.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 5)
    else:
        from core.environment import Environment
        from core.runtime import RunOptions, Runtime
        from core.testing.pytest_plugin import write_plugins_toml

        work = Path(tempfile.mkdtemp(prefix="omo-bench-mileage-"))
        plugins_file = work / "plugins.toml"
        settings = {"cooldown_seconds": cooldown, "voice_points_per_minute": 0}
        plugins: dict[str, Any] = {"config": {}}
        if kind == "mileage":
            plugins["mileage"] = {"settings": settings}
        write_plugins_toml(plugins_file, plugins)
        env = Environment.from_environ(
            {
                "OMO_DATA_DIR": str(work / "data"),
                "OMO_PLUGINS_FILE": str(plugins_file),
                "DATABASE_URL": database_url,
                "DISCORD_TOKEN": info["token"],
                "OMO_SECRET_KEY": "bench-secret-key-not-for-production",
                "DISCORD_CLIENT_ID": str(info["application_id"]),
                "DISCORD_CLIENT_SECRET": info["secret"],
            }
        )
        options = RunOptions(
            discord_api=info["base_url"],
            web_port=0,
            auto_migrate=True,
            control_socket=False,
            bot_options={"guild_ready_timeout": 0.05},
        )
        runtime = Runtime(env, options)
        await runtime.start()
        profile = os.environ.get("OMO_BENCH_PROFILE")
        if not await runtime.bot.wait_ready_or_timeout(60):
            raise TimeoutError("the omo runtime was not ready")
        runtime.bot.add_listener(on_message, "on_message")
        loaded = runtime.host.loaded("mileage")
        state = loaded.context.state if loaded is not None else None
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        await asyncio.wait_for(done.wait(), 900)
        while state is not None and (state.handled < expected or state.buffer.holding):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        if state is not None:
            await state.buffer.flush()
        assert first_cpu is not None
        result = {"cpu": _cpu() - first_cpu, "seconds": time.perf_counter() - first_wall}
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile}-{cooldown}.prof")
        if state is not None:
            stored = sum((await state.service.totals(int(info["guild_id"]))).values())
            result.update(earned=state.earned, stored=stored)
        await runtime.stop()
    result["messages"] = seen
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------ driver
class Proc:
    """A child process spoken to line by line."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.mileage", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMO_LOG_LEVEL": "WARNING"},
        )

    def line(self, prefix: str = "") -> str:
        """The next stdout line starting with ``prefix``."""
        assert self.proc.stdout is not None
        while True:
            text = self.proc.stdout.readline()
            if not text:
                raise RuntimeError(f"child exited ({self.proc.wait()}) before answering {prefix!r}")
            if text.startswith(prefix):
                return text[len(prefix) :].strip()

    def json_line(self) -> dict[str, Any]:
        """The next stdout line that is a JSON object."""
        data: dict[str, Any] = json.loads("{" + self.line("{"))
        return data

    def send(self, text: str) -> None:
        """Write one line to its stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        """Terminate it."""
        with contextlib.suppress(Exception):
            self.proc.terminate()
            self.proc.wait(10)


def _phase(
    emulator: Proc, info: dict[str, Any], kind: str, messages: int, database_url: str, cooldown: int
) -> dict[str, Any]:
    bot = Proc(["bot", kind, json.dumps(info), str(messages), database_url, str(cooldown)])
    try:
        bot.line("ready")
        emulator.send(f"go {messages}")
        sent = emulator.json_line()
        result = json.loads(bot.line("RESULT "))
    finally:
        bot.stop()
    result["emulator_cpu"] = round(sent["cpu"], 3)
    result["cpu_per_message_us"] = round(result["cpu"] / messages * 1e6, 2)
    result["messages_per_sec"] = round(messages / result["seconds"], 1)
    log.info("phase done", kind=kind, cooldown=cooldown, **{k: v for k, v in result.items() if k != "messages"})
    return result


async def _scratch(admin_url: str | None) -> Any:
    from core.testing.scratch_database import scratch_postgres_database

    if admin_url:
        return scratch_postgres_database(admin_url, "omo_bench_mileage")

    @contextlib.asynccontextmanager
    async def sqlite() -> Any:
        folder = Path(tempfile.mkdtemp(prefix="omo-bench-db-"))
        yield f"sqlite://{folder / 'mileage.sqlite3'}"

    return sqlite()


async def _cpu_ratio(args: argparse.Namespace) -> dict[str, Any]:
    emulator = Proc(["emulator", str(args.members)])
    try:
        info = emulator.json_line()
        phases: dict[str, dict[str, Any]] = {}
        for label, kind, cooldown in (
            ("bare", "bare", 0),
            ("omo_core", "omo", 0),
            ("realistic", "mileage", 60),
            ("worst_case", "mileage", 0),
        ):
            async with await _scratch(args.postgres) as url:
                phases[label] = await asyncio.to_thread(_phase, emulator, info, kind, args.messages, url, cooldown)
        emulator.send("quit")
    finally:
        emulator.stop()
    bare = phases["bare"]["cpu_per_message_us"]
    out: dict[str, Any] = {
        "messages": args.messages,
        "guild_members": args.members,
        "bare_cpu_per_message_us": bare,
        "bare_messages_per_sec": phases["bare"]["messages_per_sec"],
        "omo_core_cpu_per_message_us": phases["omo_core"]["cpu_per_message_us"],
        "ratio_omo_core_without_mileage": round(bare / phases["omo_core"]["cpu_per_message_us"], 3),
        "emulator_cpu_s": {k: v["emulator_cpu"] for k, v in phases.items()},
    }
    for label in ("realistic", "worst_case"):
        p = phases[label]
        out[f"ratio_{label}"] = round(bare / p["cpu_per_message_us"], 3)
        out[f"{label}_cpu_per_message_us"] = p["cpu_per_message_us"]
        out[f"{label}_messages_per_sec"] = p["messages_per_sec"]
        out[f"{label}_points_earned"] = p["earned"]
        out[f"{label}_points_stored"] = p["stored"]
        out[f"{label}_points_match"] = p["earned"] == p["stored"]
    return out


# ------------------------------------------------------------------------------------------ latency at scale
async def _seed(members: int, events: int, guild_id: int) -> None:
    from tortoise import connections

    conn = connections.get("default")
    dialect = str(conn.capabilities.dialect)
    rng = random.Random(11)
    today = datetime.now(UTC).date()
    base_user = 400_000_000_000_000_000
    totals = [0] * members
    daily: dict[tuple[int, date], int] = {}
    event_rows = []
    start = datetime.now(UTC) - timedelta(days=60)
    for i in range(events):
        u = rng.randrange(members)
        pts = rng.randint(15, 25)
        at = start + timedelta(seconds=rng.randrange(60 * 86400))
        totals[u] += pts
        daily[(u, at.date())] = daily.get((u, at.date()), 0) + pts
        event_rows.append((guild_id, base_user + u, pts, "message", "message", "mileage", None, f"msg:{i}", None, at))
    now = datetime.now(UTC)
    member_rows = [(guild_id, base_user + u, t, 1, None, True, now) for u, t in enumerate(totals)]
    daily_rows = [(guild_id, base_user + u, d, p) for (u, d), p in daily.items()]
    event_cols = ["guild_id", "user_id", "points", "kind", "reason", "source", "actor_id", "key", "reverses_id"]
    event_cols.append("created_at")
    member_cols = ["guild_id", "user_id", "points", "messages", "last_message_at", "notify", "updated_at"]
    if dialect == "postgres":
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table("mileage_event", records=event_rows, columns=event_cols)
            await raw.copy_records_to_table("mileage_member", records=member_rows, columns=member_cols)
            await raw.copy_records_to_table(
                "mileage_daily", records=daily_rows, columns=["guild_id", "user_id", "day", "points"]
            )
            await raw.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load: index-only scans
    else:
        async with conn.acquire_connection() as raw:
            await raw.execute("BEGIN")
            for table, cols, rows in (
                ("mileage_event", event_cols, event_rows),
                ("mileage_member", member_cols, member_rows),
                ("mileage_daily", ["guild_id", "user_id", "day", "points"], daily_rows),
            ):
                marks = ", ".join("?" * len(cols))
                await raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
            await raw.commit()
            await raw.execute("ANALYZE")
    log.info("seeded", members=members, events=events, rollups=len(daily_rows), since=str(today - timedelta(days=60)))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def _latency(args: argparse.Namespace) -> dict[str, Any]:
    from core import db
    from core.migrator import upgrade_all
    from plugins.mileage.cards import CardFigures, render_card
    from plugins.mileage.levels import Curve, current_tier, level_of, next_tier
    from plugins.mileage.service import MileageService

    guild_id = 1
    models = {"mileage": "plugins.mileage.models"}
    async with await _scratch(args.postgres) as url:
        await db.connect(url, models)
        try:
            await upgrade_all(url, models, connected=True)
            await _seed(args.scale_members, args.scale_events, guild_id)
            service = MileageService()
            for name, threshold in (("Bronze", 500), ("Silver", 2000), ("Gold", 5000)):
                await service.add_tier(guild_id, name, threshold, "points", 1000 + threshold)
            curve = Curve()
            rng = random.Random(3)
            users = [400_000_000_000_000_000 + rng.randrange(args.scale_members) for _ in range(args.samples)]

            async def rank(user_id: int) -> None:
                standing = await service.standing(guild_id, user_id)
                tiers = await service.tiers(guild_id)
                level_of(standing.points, curve)
                current_tier(standing.points, tiers, curve)
                next_tier(standing.points, tiers, curve)

            timings: dict[str, list[float]] = {"rank": [], "leaderboard": [], "leaderboard_30d": []}
            for i, user_id in enumerate(users):
                for key, call in (
                    ("rank", lambda u=user_id: rank(u)),
                    ("leaderboard", lambda i=i: service.leaderboard(guild_id, page=1 + (i % 20) * (i % 3))),
                    (
                        "leaderboard_30d",
                        lambda i=i: service.leaderboard(guild_id, window="30d", page=1 + (i % 20) * (i % 3)),
                    ),
                ):
                    t0 = time.perf_counter()
                    await call()
                    timings[key].append((time.perf_counter() - t0) * 1000)
            figures = CardFigures("bench member", 12, 345, 9876, 500, 1000, "Gold", None, "none")
            cards = []
            for _ in range(20):
                t0 = time.perf_counter()
                await asyncio.to_thread(render_card, figures, None)
                cards.append((time.perf_counter() - t0) * 1000)
        finally:
            await db.close()
    out: dict[str, Any] = {"scale_members": args.scale_members, "scale_events": args.scale_events}
    for key, values in timings.items():
        out[f"{key}_p50_ms"] = _pct(values, 0.5)
        out[f"{key}_p95_ms"] = _pct(values, 0.95)
    out["card_render_ms_median"] = round(statistics.median(cards), 2)
    out["leaderboard_30d_cold_ms"] = round(timings["leaderboard_30d"][0], 2)
    return out


def main(argv: list[str]) -> dict[str, Any]:
    """Run both parts; returns the figures (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench mileage", description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL admin URL: every database is a scratch one made there")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--scale-members", type=int, default=100_000)
    parser.add_argument("--scale-events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200, help="timed calls of each query")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("console", level="INFO")
    figures: dict[str, Any] = {"database": "postgres" if args.postgres else "sqlite"}
    if not args.skip_cpu:
        figures.update(asyncio.run(_cpu_ratio(args)))
    if not args.skip_latency:
        figures.update(asyncio.run(_latency(args)))
    log.info("bench done", **figures)
    return figures


def _child(argv: list[str]) -> None:
    configure_logging("console", level="WARNING")
    if argv[0] == "emulator":
        asyncio.run(_emulator_main(int(argv[1])))
    else:
        asyncio.run(_bot_main(argv[1], json.loads(argv[2]), int(argv[3]), argv[4], int(argv[5])))


if __name__ == "__main__":
    _child(sys.argv[1:])
