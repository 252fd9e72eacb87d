"""``python -m bench reload``: omo's staged plugin reload against discord.py's ``reload_extension``.

Both reload equivalent code 50 times (20 app commands and a listener; omo's
plugin also has a blueprint and a background task, which it swaps too). The
figure is the median seconds per reload; the ratio is omo / discord.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import discord
import structlog
from discord.ext import commands

log = structlog.get_logger("omo.bench.reload")

COMMANDS = "".join(
    textwrap.indent(
        textwrap.dedent(f"""
            @app_commands.command(name="cmd{i}", description="command {i}")
            async def cmd{i}(self, interaction: discord.Interaction, text: str) -> None:
                await interaction.response.send_message(text)
        """),
        "    ",
    )
    for i in range(20)
)

COG = f"""
import discord
from discord import app_commands
from discord.ext import commands


class BenchCog(commands.Cog, name="benchcog"):
    def __init__(self, owner=None) -> None:
        self.owner = owner

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        pass
{COMMANDS}
"""

EXTENSION = (
    COG
    + """

async def setup(bot):
    await bot.add_cog(BenchCog())
"""
)

PLUGIN = (
    COG
    + """

from quart import Blueprint

from core.plugin import PluginContext, PluginInfo, hookimpl


@hookimpl
def omo_plugin_info():
    return PluginInfo(version="1")


@hookimpl
def omo_cogs(plugin: PluginContext):
    return [BenchCog(plugin)]


@hookimpl
def omo_blueprint(plugin: PluginContext):
    bp = Blueprint("benchplug", __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        return "bench"

    return bp


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    async def tick() -> None:
        pass

    plugin.every(60, tick, name="tick")
"""
)


def _progress(label: str, done: int, total: int) -> None:
    if done % 10 == 0 or done == total:
        sys.stderr.write(f"{label}: {done}/{total}\n")
    sys.stderr.flush()


async def _measure(root: Path, count: int) -> tuple[list[float], list[float]]:
    """Alternate one discord.py reload and one omo reload, so machine noise hits both alike."""
    from core.compose import compose_runtime
    from core.environment import Environment
    from core.runtime import RunOptions

    (root / "bench_ext.py").write_text(EXTENSION)
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    await bot.load_extension("bench_ext")

    pkg = root / "benchplug_mod"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(PLUGIN)
    toml = root / "plugins.toml"
    toml.write_text('[plugins.benchplug]\nenabled = true\nmodule = "benchplug_mod"\n')
    env = Environment.from_environ(
        {
            "OMO_DATA_DIR": str(root / "data"),
            "OMO_PLUGINS_FILE": str(toml),
            "DATABASE_URL": f"sqlite://{root / 'bench.sqlite3'}",
            "OMO_SECRET_KEY": "bench",
        }
    )
    runtime = compose_runtime(
        env, RunOptions(connect_gateway=False, web_port=0, auto_migrate=True, control_socket=False, watch_interval=3600)
    )
    await runtime.start()
    baseline: list[float] = []
    ours: list[float] = []
    try:
        for i in range(count):
            started = time.perf_counter()
            await bot.reload_extension("bench_ext")
            baseline.append(time.perf_counter() - started)
            started = time.perf_counter()
            await runtime.host.reload("benchplug")
            ours.append(time.perf_counter() - started)
            _progress("reloads (discord.py, omo)", i + 1, count)
        owned = [c for c in runtime.bot.tree.get_commands() if runtime.bot.omo_tree.owner_of(c) == "benchplug"]
        assert len(owned) == 20 and len(bot.tree.get_commands()) == 20
    finally:
        await runtime.stop()
        await bot.close()
    return baseline, ours


def main(argv: list[str]) -> dict[str, Any]:
    """Run both reloads ``--reloads`` times; return medians and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench reload")
    parser.add_argument("--reloads", type=int, default=50)
    args = parser.parse_args(argv)
    from core.logging import configure_logging

    configure_logging("console", "WARNING")
    with tempfile.TemporaryDirectory(prefix="omo-bench-") as tmp:
        root = Path(tmp)
        sys.path.insert(0, str(root))
        try:
            baseline, ours = asyncio.run(_measure(root, args.reloads))
        finally:
            sys.path.remove(str(root))
    omo_median = statistics.median(ours)
    dpy_median = statistics.median(baseline)
    sys.stderr.write(
        f"median reload: omo {omo_median * 1000:.2f} ms (hooks + cogs + routes + task), "
        f"discord.py {dpy_median * 1000:.2f} ms (cog only) -> ratio {omo_median / dpy_median:.2f} (target <= 2)\n"
    )
    return {
        "reloads": args.reloads,
        "omo_median_s": round(omo_median, 6),
        "discord_py_median_s": round(dpy_median, 6),
        "ratio": round(omo_median / dpy_median, 3),
    }
