"""Settings reads: the cached hot path against a plain dict lookup, and the first read after a change.

``python -m bench config [--reads N] [--changes K] [--postgres ADMIN_URL]``

A real runtime (config plugin + the echo sample plugin, no gateway connection) on a fresh SQLite file,
or with ``--postgres`` on a scratch PostgreSQL database created for the run and dropped after. Measured in the same run:

* ``dict``: ``settings[(guild_id, plugin)]`` on a plain dict — the floor;
* ``hook``: ``omo_resolve_settings`` through pluggy (what ``runtime.settings.get`` calls), cache hit;
* ``get``: ``await runtime.settings.get(guild_id, plugin)``, cache hit — what plugins call;
* ``after_change``: the first ``get`` after the cache entry was invalidated by a change (one database read).

The SQL statements Tortoise sends are counted (its ``tortoise.db_client`` log) during each phase: the
cached reads must send none. Progress goes to stderr; the figures are the last JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
import tomlkit

from core.logging import configure_logging

log = structlog.get_logger("omo.bench.config")
GUILD = 424242424242424242


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def counting_queries() -> Iterator[_Counter]:
    """Count the SQL statements Tortoise sends inside the block (without printing them)."""
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    saved = logger.level, logger.propagate, logger.disabled
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.disabled = False
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(saved[0])
        logger.propagate, logger.disabled = saved[1], saved[2]


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


async def _run(reads: int, changes: int, database_url: str | None) -> dict[str, Any]:
    from core.compose import compose_runtime
    from core.environment import Environment
    from core.runtime import RunOptions
    from plugins.config.service import Actor

    with tempfile.TemporaryDirectory(prefix="omo-bench-config-") as tmp:
        base = Path(tmp)
        doc = tomlkit.document()
        doc["plugins"] = {"config": {"enabled": True}, "echo": {"enabled": True, "module": "tests.sample_plugins.echo"}}
        (base / "plugins.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")
        env = Environment.from_environ(
            {
                "OMO_DATA_DIR": str(base / "data"),
                "OMO_PLUGINS_FILE": str(base / "plugins.toml"),
                "DATABASE_URL": database_url or f"sqlite://{base / 'bench.sqlite3'}",
                "OMO_SECRET_KEY": "bench-secret-key-not-for-production",
            }
        )
        runtime = compose_runtime(
            env,
            RunOptions(web_port=0, auto_migrate=True, connect_gateway=False, control_socket=False, watch_interval=3600),
        )
        await runtime.start()
        try:
            for name in ("config", "echo"):
                if name not in runtime.host.enabled_names():
                    record = runtime.host.records.get(name)
                    raise SystemExit(
                        f"plugin {name} did not start ({record.error if record else 'not found'}); "
                        "run `python -m bench config` from the repository root"
                    )
            loaded = runtime.host.loaded("config")
            assert loaded is not None
            service = loaded.context.state
            await service.set_values(GUILD, "echo", {"repeat": 3}, Actor(1, "bench"), source="system")
            model = runtime.settings.model_of("echo")
            defaults = runtime.host.defaults_of("echo")
            hook = runtime.host.pm.hook.omo_resolve_settings
            warm = await runtime.settings.get(GUILD, "echo")
            plain = {(GUILD, "echo"): warm}
            log.info("bench starting", reads=reads, changes=changes, database=env.database_url.split(":", 1)[0])

            started = time.perf_counter()
            for _ in range(reads):
                value = plain[(GUILD, "echo")]
            dict_s = time.perf_counter() - started
            assert value is warm

            with counting_queries() as hook_queries:
                started = time.perf_counter()
                for _ in range(reads):
                    value = hook(guild_id=GUILD, plugin="echo", model=model, defaults=defaults)
                hook_s = time.perf_counter() - started
            assert value is warm, "the hook must answer a cache hit with the cached instance, not an awaitable"
            log.info("hook reads done", per_sec=_rate(reads, hook_s))

            with counting_queries() as get_queries:
                started = time.perf_counter()
                for _ in range(reads):
                    value = await runtime.settings.get(GUILD, "echo")
                get_s = time.perf_counter() - started
            assert value is warm
            log.info("get reads done", per_sec=_rate(reads, get_s))

            cold_s = 0.0
            with counting_queries() as cold_queries:
                for n in range(changes):
                    service.invalidate(GUILD, "echo")  # what a change (here or via the bus) does to the cache
                    started = time.perf_counter()
                    value = await runtime.settings.get(GUILD, "echo")
                    cold_s += time.perf_counter() - started
                    if n and n % max(1, changes // 5) == 0:
                        log.info("reads after a change", done=n)
            assert value.repeat == 3  # type: ignore[attr-defined]

            change_s = 0.0
            for n in range(min(changes, 50)):
                started = time.perf_counter()
                await service.set_values(GUILD, "echo", {"repeat": 2 + n % 3}, Actor(1, "bench"), source="system")
                await runtime.settings.get(GUILD, "echo")
                change_s += time.perf_counter() - started
            writes = min(changes, 50)
        finally:
            await runtime.stop()

    figures = {
        "reads": reads,
        "dict_reads_per_sec": _rate(reads, dict_s),
        "hook_reads_per_sec": _rate(reads, hook_s),
        "get_reads_per_sec": _rate(reads, get_s),
        "after_change_reads_per_sec": _rate(changes, cold_s),
        "change_then_read_per_sec": _rate(writes, change_s),
        "get_vs_dict_slowdown": round(get_s / dict_s, 1) if dict_s else None,
        "hook_vs_dict_slowdown": round(hook_s / dict_s, 1) if dict_s else None,
        "after_change_vs_get_slowdown": round((cold_s / changes) / (get_s / reads), 1) if get_s and changes else None,
        "get_read_us": round(get_s / reads * 1e6, 3),
        "after_change_read_us": round(cold_s / changes * 1e6, 1) if changes else None,
        "queries_during_cached_reads": hook_queries.count + get_queries.count,
        "queries_per_read_after_change": round(cold_queries.count / changes, 2) if changes else None,
        "database": "postgres" if database_url and database_url.startswith("postgres") else "sqlite",
    }
    assert figures["queries_during_cached_reads"] == 0, "a cached read went to the database"
    return figures


async def _in_scratch_database(reads: int, changes: int, admin_url: str) -> dict[str, Any]:
    """Run against a database created for the run on the PostgreSQL server of ``admin_url``, dropped after."""
    from core.testing.scratch_database import scratch_postgres_database

    async with scratch_postgres_database(admin_url, "omo_bench") as url:
        return await _run(reads, changes, url)


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark; returns reads per second of each path, ratios and query counts."""
    parser = argparse.ArgumentParser(
        prog="python -m bench config", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=200_000, help="cached reads per path (default 200000)")
    parser.add_argument("--changes", type=int, default=500, help="reads after a change (default 500)")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="a PostgreSQL server (admin URL): the run uses a scratch database created and dropped "
        "there (default: a fresh SQLite file)",
    )
    args = parser.parse_args(argv)
    configure_logging("console", level="WARNING")
    logging.getLogger("omo.bench.config").setLevel(logging.INFO)
    if args.postgres:
        figures = asyncio.run(_in_scratch_database(args.reads, args.changes, args.postgres))
    else:
        figures = asyncio.run(_run(args.reads, args.changes, None))
    log.warning("bench done", **figures)
    return figures
