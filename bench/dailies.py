"""One poll cycle of the dailies plugin over many subscriptions, against a naive poller in the same run.

``python -m bench dailies [--subscriptions N] [--new-share 0.1] [--postgres ADMIN_URL]``

A feed server runs in a process of its own (its CPU is not counted) and serves N RSS feeds of 20 items
with ETag/304. A real runtime (dailies plugin, no gateway) on a fresh SQLite file — or a scratch PostgreSQL
database — subscribes to every feed (set-up, not measured). Then one cycle is measured: the server adds
one item to ``new-share`` of the feeds, every feed is made due, and ``poller.tick()`` runs: lease, conditional
GET, parsing in worker threads, dedupe, claim, post, record. Posts go to an in-memory sender (Discord
is not what is measured here; the emulator tests cover the Discord side).

Measured in the same run, the baseline is a naive poller: the same feeds fetched unconditionally with the
same concurrency and parsed with feedparser on the event loop, storing nothing.

Figures: ``cycle_s`` (wall), ``cpu_s`` (this process and its feed-parsing process),
``loop_lag_p99_ms`` (a 10 ms ticker's overshoot during the cycle), ``items_published`` (new items the
server added), ``items_posted`` (posts made),
``baseline_s`` and ``speedup_vs_naive`` (baseline_s / cycle_s), ``baseline_cpu_s`` and ``cpu_ratio_vs_naive``
(baseline CPU / cycle CPU), and ``loop_lag_idle_p99_ms``: the same ticker on an idle loop right after, the
machine's own noise (on a shared, loaded machine it is not small).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import structlog
import tomlkit

from core.logging import configure_logging

log = structlog.get_logger("omo.bench.dailies")
GUILD = 424242424242424242
CHANNEL = 515151515151515151
ITEMS = 20


# ------------------------------------------------------------------------------------------ feed server
def _feed(i: int, head: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {i} item {n}</title><link>https://feeds.example/{i}/{n}</link>"
        f"<guid>f{i}-{n}</guid><description><![CDATA[<p>Item <b>{n}</b> of feed {i}</p>]]></description>"
        f"<pubDate>Tue, 01 Dec 2026 10:{n % 60:02d}:00 +0000</pubDate></item>"
        for n in range(head, head - ITEMS, -1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {i}</title>'
        f"<link>https://feeds.example/{i}</link><description>bench</description>{items}</channel></rss>"
    ).encode()


def _serve(port_out: Any, count: int) -> None:
    from aiohttp import web

    heads = dict.fromkeys(range(count), ITEMS)

    async def feed(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        etag = f'"{heads[i]}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=_feed(i, heads[i]), content_type="application/rss+xml", headers={"ETag": etag})

    async def advance(request: web.Request) -> web.Response:
        share = float(request.query["share"])
        step = max(1, round(1 / share)) if share else count + 1
        offset = int(request.query.get("offset", "0"))
        changed = 0
        for i in range(count):
            if (i + offset) % step == 0:
                heads[i] += 1
                changed += 1
        return web.json_response({"changed": changed})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", feed)
        app.router.add_post("/advance", advance)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


# ------------------------------------------------------------------------------------------ measuring
class LagMonitor:
    """Overshoot of a 10 ms sleep, sampled while running."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.01)
            self.samples.append(max(0.0, loop.time() - start - 0.01))

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    def p99_ms(self) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)


class CountingSender:
    """An in-memory Discord: counts posts."""

    def __init__(self) -> None:
        self.posts = 0

    async def send(self, target: Any, post: Any) -> int:
        self.posts += 1
        return self.posts

    async def seen(self, target: Any, item: Any) -> bool | None:
        return False

    async def notice(self, guild_id: int, channel_id: int | None, text: str) -> None:
        return None


async def _naive(base: str, count: int, concurrency: int) -> tuple[float, float]:
    import feedparser

    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            async with gate, http.get(f"{base}/feed/{i}") as resp:
                body = await resp.read()
            feedparser.parse(body)

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - started, time.process_time() - cpu


async def _run(count: int, share: float, concurrency: int, base: str, database_url: str | None) -> dict[str, Any]:
    from core.environment import Environment
    from core.runtime import RunOptions, Runtime
    from plugins.dailies.models import Entry, Feed
    from plugins.dailies.parse import worker_cpu_seconds
    from plugins.dailies.service import Target

    with tempfile.TemporaryDirectory(prefix="omo-bench-dailies-") as tmp:
        tmpdir = Path(tmp)
        operator = {
            "allow_networks": ["127.0.0.1/32"],
            "min_interval": 60,
            "tick": 86_400,
            "per_host": concurrency,
            "concurrency": concurrency,
            "max_subscriptions": count,
        }
        doc = tomlkit.document()
        doc["plugins"] = {"dailies": {"enabled": True, "settings": {"operator": operator}}}
        (tmpdir / "plugins.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")
        env = Environment.from_environ(
            {
                "OMO_DATA_DIR": str(tmpdir / "data"),
                "OMO_PLUGINS_FILE": str(tmpdir / "plugins.toml"),
                "DATABASE_URL": database_url or f"sqlite://{tmpdir / 'bench.sqlite3'}",
                "OMO_SECRET_KEY": "bench-secret-key-not-for-production",
            }
        )
        runtime = Runtime(
            env,
            RunOptions(web_port=0, auto_migrate=True, connect_gateway=False, control_socket=False, watch_interval=3600),
        )
        await runtime.start()
        try:
            loaded = runtime.host.loaded("dailies")
            if loaded is None:
                record = runtime.host.records.get("dailies")
                raise SystemExit(f"dailies did not start ({record.error if record else 'not found'})")
            state = loaded.context.state
            sender = CountingSender()
            state.poller.sender = sender
            service = state.service
            gate = asyncio.Semaphore(concurrency)

            async def subscribe(i: int) -> None:
                async with gate:
                    await service.add_subscription(GUILD, f"{base}/feed/{i}", Target(CHANNEL), interval=600)

            started = time.perf_counter()
            await asyncio.gather(*(subscribe(i) for i in range(count)))
            log.info("subscribed", subscriptions=count, seconds=round(time.perf_counter() - started, 1))

            baseline_s, baseline_cpu_s = await _naive(base, count, concurrency)
            log.info("naive poller", seconds=round(baseline_s, 2))

            async with aiohttp.ClientSession() as http, http.post(f"{base}/advance?share={share}") as resp:
                published = int((await resp.json())["changed"])
            await Feed.all().update(next_check=service.clock())
            if os.environ.get("BENCH_SLOW_CALLBACKS"):  # name what blocks the loop for more than 40 ms
                loop = asyncio.get_running_loop()
                loop.set_debug(True)
                loop.slow_callback_duration = 0.04
                handler = logging.StreamHandler()
                logging.getLogger("asyncio").addHandler(handler)
                logging.getLogger("asyncio").setLevel(logging.WARNING)
            cpu0 = time.process_time() + worker_cpu_seconds()
            with LagMonitor() as lag:
                started = time.perf_counter()
                if os.environ.get("BENCH_PROFILE"):
                    import cProfile

                    prof = cProfile.Profile()
                    prof.enable()
                    stats = await state.poller.tick()
                    prof.disable()
                    prof.dump_stats(os.environ["BENCH_PROFILE"])
                else:
                    stats = await state.poller.tick()
                cycle_s = time.perf_counter() - started
            cpu_s = time.process_time() + worker_cpu_seconds() - cpu0
            posted_rows = await Entry.filter(status="posted").count()
            with LagMonitor() as idle:  # the machine's own noise, for comparison
                await asyncio.sleep(min(cycle_s, 10.0))
            log.info("cycle", seconds=round(cycle_s, 2), feeds=stats.feeds, failed=stats.failed, posted=sender.posts)
        finally:
            await runtime.stop()

    return {
        "subscriptions": count,
        "database": "postgres" if database_url else "sqlite",
        "cycle_s": round(cycle_s, 3),
        "cpu_s": round(cpu_s, 3),
        "loop_lag_p99_ms": lag.p99_ms(),
        "loop_lag_idle_p99_ms": idle.p99_ms(),
        "items_published": published,
        "items_posted": sender.posts,
        "entries_posted": posted_rows,
        "feeds_checked": stats.feeds,
        "feeds_failed": stats.failed,
        "baseline_s": round(baseline_s, 3),
        "baseline_cpu_s": round(baseline_cpu_s, 3),
        "cpu_ratio_vs_naive": round(baseline_cpu_s / cpu_s, 2) if cpu_s else None,
        "speedup_vs_naive": round(baseline_s / cycle_s, 2) if cycle_s else None,
    }


async def _in_scratch_database(*args: Any, admin_url: str) -> dict[str, Any]:
    from core.testing.scratch_database import scratch_postgres_database

    async with scratch_postgres_database(admin_url, "omo_bench") as url:
        return await _run(*args, url)


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark; returns the cycle's figures and the naive baseline."""
    parser = argparse.ArgumentParser(
        prog="python -m bench dailies", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, default=1000, help="feeds, one subscription each (default 1000)")
    parser.add_argument("--new-share", type=float, default=0.1, help="share of feeds with a new item (default 0.1)")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent fetches (default 20)")
    parser.add_argument("--postgres", default=None, metavar="URL", help="a PostgreSQL admin URL (scratch database)")
    args = parser.parse_args(argv)
    configure_logging("console", level="WARNING")
    logging.getLogger("omo.bench.dailies").setLevel(logging.INFO)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(sender, args.subscriptions), daemon=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{receiver.recv()}"
        run_args = (args.subscriptions, args.new_share, args.concurrency, base)
        if args.postgres:
            figures = asyncio.run(_in_scratch_database(*run_args, admin_url=args.postgres))
        else:
            figures = asyncio.run(_run(*run_args, None))
    finally:
        server.terminate()
        server.join(5)
    if figures["items_posted"] != figures["items_published"]:
        log.error("items posted differ from items published", **figures)
    return figures
