"""Web admin throughput: the guild overview page and one JSON API read, logged in, against a bare Quart baseline.

``python -m bench web [--guilds 100] [--requests 5000] [--concurrency 16] [--seconds 15] [--postgres URL]``

Starts the Discord emulator with ``--guilds`` guilds (the bench user owns all of them), an omo runtime
with every installed plugin enabled (in-tree and entry-point plugins; ``--with-echo`` adds the test
sample), logs in through the real OAuth2 flow, then loads ``/guilds/<id>/`` and
``/api/v1/guilds/<id>/plugins`` from a second process (an aiohttp load generator on loopback, bounded
by request count and time). The baseline is a bare Quart app on hypercorn rendering the same template
with the same data and returning the same JSON, with no auth and no database.
The API rate limit is raised for the run (it would otherwise answer 429 to a load generator).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("omo.bench.web")
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------ load generator


async def _load(url: str, cookie: str | None, requests: int, concurrency: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    issued = 0
    headers = {"Cookie": cookie} if cookie else {}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        # warm-up (not measured)
        for _ in range(min(20, requests)):
            async with session.get(url) as response:
                await response.read()

        async def worker() -> None:
            nonlocal issued, errors
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else 0.0
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else 0.0,
        "p95_ms": round(p95 * 1000, 2),
    }


def load_generator_main(argv: list[str]) -> None:
    """Entry point of the load-generator subprocess: prints one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookie")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    result = asyncio.run(_load(args.url, args.cookie, args.requests, args.concurrency, args.seconds))
    sys.stdout.write(json.dumps(result) + "\n")


async def measure(url: str, cookie: str | None, args: argparse.Namespace, label: str) -> dict[str, Any]:
    """Run the load generator in a second process against ``url``."""
    command = [
        sys.executable,
        "-m",
        "bench.web",
        "--load-generator",
        "--url",
        url,
        "--requests",
        str(args.requests),
        "--concurrency",
        str(args.concurrency),
        "--seconds",
        str(args.seconds),
    ]
    if cookie:
        command += ["--cookie", cookie]
    log.info("loading", target=label, requests=args.requests, concurrency=args.concurrency)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT)
    )
    out, err = await asyncio.wait_for(process.communicate(), args.seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    log.info("measured", target=label, **result)
    return result


# ---------------------------------------------------------------------------------------------- baseline


def baseline_app(overview_context: dict[str, Any], api_body: dict[str, Any]) -> Any:
    """A bare Quart app rendering the same overview template and JSON, with no auth and no database."""
    from markupsafe import Markup
    from quart import Quart, render_template

    import webadmin

    app = Quart(
        "bench_baseline",
        template_folder=str(Path(webadmin.__file__).parent / "templates"),
        static_folder=str(Path(webadmin.__file__).parent / "static"),
    )
    app.jinja_env.globals["csrf_token"] = lambda: "0" * 64
    app.jinja_env.globals["csrf_field"] = lambda: Markup('<input type="hidden" name="csrf_token" value="0">')
    context = dict(overview_context)

    @app.get("/guilds/<int:guild_id>/")
    async def overview(guild_id: int) -> str:
        return await render_template("overview.html", **context)

    @app.get("/api/v1/guilds/<int:guild_id>/plugins")
    async def plugins(guild_id: int) -> Any:
        return api_body

    return app


async def serve_app(app: Any) -> tuple[str, asyncio.Event, asyncio.Task[Any]]:
    """Serve ``app`` with hypercorn on a free loopback port."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = None
    stop = asyncio.Event()
    await app.startup()
    task = asyncio.get_running_loop().create_task(serve(app, config, shutdown_trigger=stop.wait, mode="asgi"))
    task.omo_socket = sock  # type: ignore[attr-defined]
    await asyncio.sleep(0.2)
    return f"http://127.0.0.1:{port}", stop, task


# -------------------------------------------------------------------------------------------------- main


def _start_profile(path: str | None) -> Any:
    """A running cProfile when ``--profile`` is given (for the omo targets only)."""
    if not path:
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def _stop_profile(profiler: Any, path: str | None, label: str) -> None:
    if profiler is None or not path:
        return
    profiler.disable()
    target = Path(path).with_suffix(f".{label}.prof")
    profiler.dump_stats(str(target))
    log.info("profile written", target=label, path=str(target))


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from core.compose import compose_runtime
    from core.environment import Environment
    from core.plugin_host import PluginState, discover
    from core.runtime import RunOptions, Runtime
    from core.testing.emulator import Emulator, point_discord_py_at, restore_discord_py
    from core.testing.pytest_plugin import web_login_client, write_plugins_toml

    os.environ["OMO_API_RATE_LIMIT"] = "100000000/60"
    tmp = Path(tempfile.mkdtemp(prefix="omo-bench-web-"))
    emu = Emulator()
    await emu.start()
    point_discord_py_at(emu.base_url)
    runtime: Runtime | None = None
    try:
        boss = emu.create_user("bench-admin")
        guilds = [emu.create_guild(f"Bench Guild {i:03d}", owner=boss) for i in range(args.guilds)]
        plugins: dict[str, dict[str, Any]] = {name: {} for name in discover()}
        if args.with_echo:  # the test sample: its 20 Hz per-guild jobs load the loop far more than a real plugin
            plugins["echo"] = {"module": "tests.sample_plugins.echo"}
        if args.plugins:
            wanted = {p.strip() for p in args.plugins.split(",") if p.strip()}
            plugins = {name: table for name, table in plugins.items() if name in wanted}
        write_plugins_toml(tmp / "plugins.toml", plugins, owners=[])
        env = Environment.from_environ(
            {
                "OMO_DATA_DIR": str(tmp / "data"),
                "OMO_PLUGINS_FILE": str(tmp / "plugins.toml"),
                "DATABASE_URL": args.database_url or f"sqlite://{tmp / 'bench.sqlite3'}",
                "DISCORD_TOKEN": emu.bot_token,
                "OMO_SECRET_KEY": "bench-secret-key",
                "DISCORD_CLIENT_ID": str(emu.application_id),
                "DISCORD_CLIENT_SECRET": emu.client_secret,
            }
        )
        runtime = compose_runtime(
            env,
            RunOptions(
                discord_api=emu.base_url,
                web_port=0,
                auto_migrate=True,
                control_socket=False,
                bot_options={"guild_ready_timeout": 0.05},
                freeze_heap=True,  # as `omo run` does
            ),
        )
        await runtime.start()
        if not await runtime.bot.wait_ready_or_timeout(30):
            raise RuntimeError("the runtime did not become ready")
        enabled = sorted(n for n, r in runtime.host.records.items() if r.state == PluginState.ENABLED)
        failed = {n: r.error for n, r in runtime.host.records.items() if r.state == PluginState.FAILED}
        assert runtime.web_url is not None
        web_url = runtime.web_url
        log.info("runtime ready", guilds=len(runtime.bot.guilds), plugins=enabled, failed=failed)
        client = await web_login_client(runtime, emu, boss.id)
        cookie = "omo_session=" + client.cookies["omo_session"]
        target = guilds[len(guilds) // 2].id
        page_path, api_path = f"/guilds/{target}/", f"/api/v1/guilds/{target}/plugins"
        page = await client.get(page_path)
        api = await client.get(api_path)
        assert page.status_code == 200 and api.status_code == 200, (page.status_code, api.status_code)
        await client.aclose()

        from webadmin import dashboard
        from webadmin.app import GuildContext
        from webadmin.auth import Viewer

        cards = await dashboard.plugin_cards(runtime, target)
        card = dashboard.guild_card(runtime, target)
        assert card is not None
        viewer = Viewer(boss.id, "bench-admin", None, False, "session")
        sidebar = GuildContext(
            card.id, card.name, card.icon_url, card.initial, [link for c in cards for link in c.links]
        )
        base_url, stop, task = await serve_app(
            baseline_app(
                {
                    "guild": card,
                    "cards": cards,
                    "switched": None,
                    "switched_on": False,
                    "omo_viewer": viewer,
                    "omo_guild": sidebar,
                },
                api.json(),
            )
        )
        best: dict[str, dict[str, Any]] = {}
        try:
            # alternate omo and baseline, keep each target's best round: other load on the machine hits both
            for round_no in range(args.rounds):
                for label, url, with_cookie in (
                    ("omo_overview", web_url + page_path, True),
                    ("baseline_overview", base_url + page_path, False),
                    ("omo_api", web_url + api_path, True),
                    ("baseline_api", base_url + api_path, False),
                ):
                    profiler = _start_profile(args.profile if label.startswith("omo_") else None)
                    result = await measure(url, cookie if with_cookie else None, args, f"{label} #{round_no + 1}")
                    _stop_profile(profiler, args.profile, label)
                    if label not in best or result["rps"] > best[label]["rps"]:
                        best[label] = result
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            with contextlib.suppress(OSError):  # hypercorn may have closed the descriptor already
                task.omo_socket.close()  # type: ignore[attr-defined]
    finally:
        if runtime is not None:
            await runtime.stop()
        await emu.stop()
        restore_discord_py()
    omo_page, omo_api = best["omo_overview"], best["omo_api"]
    base_page, base_api = best["baseline_overview"], best["baseline_api"]

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
        return round(a["rps"] / b["rps"], 3) if b["rps"] else 0.0

    return {
        "guilds": args.guilds,
        "plugins": enabled,
        "failed_plugins": sorted(failed),
        "database": "postgres" if (args.database_url or "").startswith("postgres") else "sqlite",
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "requests_per_round": args.requests,
        "overview_rps": omo_page["rps"],
        "overview_p95_ms": omo_page["p95_ms"],
        "overview_errors": omo_page["errors"],
        "api_rps": omo_api["rps"],
        "api_p95_ms": omo_api["p95_ms"],
        "api_errors": omo_api["errors"],
        "baseline_overview_rps": base_page["rps"],
        "baseline_overview_p95_ms": base_page["p95_ms"],
        "baseline_api_rps": base_api["rps"],
        "baseline_api_p95_ms": base_api["p95_ms"],
        "overview_ratio": ratio(omo_page, base_page),
        "api_ratio": ratio(omo_api, base_api),
        "target_ratio": 0.6,
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    from core.logging import configure_logging

    parser = argparse.ArgumentParser(prog="python -m bench web")
    parser.add_argument("--guilds", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plugins", help="comma-separated plugins to enable (default: every installed one)")
    parser.add_argument("--with-echo", action="store_true", help="also enable the echo test sample plugin")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("OMO_BENCH_POSTGRES"),
        help="a PostgreSQL server (admin URL): the run uses a scratch database created and dropped there "
        "(default: a fresh SQLite file)",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="write a cProfile of the omo side (last round) to PATH.<target>.prof; skews the ratios",
    )
    args = parser.parse_args(argv)
    configure_logging(fmt="console", level="INFO")
    return asyncio.run(_run_with_database(args))


async def _run_with_database(args: argparse.Namespace) -> dict[str, Any]:
    """Run on a fresh SQLite file, or on a scratch database of the ``--postgres`` server."""
    if not args.postgres:
        args.database_url = None
        return await _run(args)
    from core.testing.scratch_database import scratch_postgres_database

    async with scratch_postgres_database(args.postgres, "omo_bench") as url:
        args.database_url = url
        return await _run(args)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load-generator"]:
        load_generator_main(sys.argv[2:])
    else:
        sys.stdout.write(json.dumps(main(sys.argv[1:])) + "\n")
