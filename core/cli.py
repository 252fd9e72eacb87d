"""The ``omo`` command line. Every sub-command has ``--help``.

Errors print one clear line (``omo: error: ...``) and exit non-zero; the log
carries the details.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import structlog

from core import __version__
from core.environment import Environment, token_problem
from core.errors import ConfigError, OmoError
from core.logging import configure_logging

log = structlog.get_logger("omo.cli")


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.write(f"omo: error: {line}\n")


def parse_shard_ids(value: str) -> list[int]:
    """``"0-3"`` or ``"0,2,5"`` to a list of shard ids."""
    try:
        if "-" in value:
            start, end = (int(p) for p in value.split("-", 1))
            if end < start:
                raise ValueError
            return list(range(start, end + 1))
        return [int(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"shard ids must look like 0-3 or 0,2,5, not {value!r}") from None


def _plugin_models(env: Environment) -> dict[str, str]:
    from core.plugin_host import PluginState
    from core.plugins_file import load_plugins_file
    from core.runtime import Runtime

    runtime = Runtime(env)
    runtime.plugins_file = load_plugins_file(env.plugins_file)
    runtime.host.discover(runtime.plugins_file)
    runtime.host.load_enabled(runtime.plugins_file.enabled_plugins())
    failed = {n: r.error for n, r in runtime.host.records.items() if r.state == PluginState.FAILED}
    for error in failed.values():
        _err(f"{error}")
    return runtime.host.models()


# ------------------------------------------------------------------ commands
def cmd_run(args: argparse.Namespace, env: Environment) -> int:
    from core.compose import compose_runtime
    from core.runtime import RunOptions

    problem = token_problem(env.discord_token)
    if problem and not args.discord_api:
        _err(
            f"{problem}. Set DISCORD_TOKEN to your bot's token (see docs/operators.md), "
            "or try omo offline with `omo demo`."
        )
        return 2
    if problem and args.discord_api and not env.discord_token:
        _err("no DISCORD_TOKEN: `omo emulator` prints the token it accepts")
        return 2
    options = RunOptions(
        discord_api=args.discord_api,
        shard_ids=args.shard_ids,
        shard_count=args.shard_count,
        dev_guild=args.dev_guild,
        web_host=args.host,
        web_port=args.port,
        auto_migrate=args.migrate,
        freeze_heap=True,
    )
    if args.shard_ids and args.shard_count is None:
        _err("--shard-ids needs --shard-count")
        return 2
    runtime = compose_runtime(env, options)
    asyncio.run(runtime.serve())
    return 0


def cmd_demo(args: argparse.Namespace, env: Environment) -> int:
    from core.demo import run_demo

    asyncio.run(run_demo(env, port=args.port, members=args.members, simulate=not args.quiet, open_for=args.seconds))
    return 0


def cmd_emulator(args: argparse.Namespace, env: Environment) -> int:
    from core.testing.emulator.standalone import serve_standalone

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_standalone(args.host, args.port))
    return 0


def cmd_check(args: argparse.Namespace, env: Environment) -> int:
    from core.bot import compute_intents
    from core.plugin_host import PluginState
    from core.plugins_file import load_plugins_file
    from core.runtime import Runtime

    ok = True
    _out(f"omo {__version__}")
    try:
        pf = load_plugins_file(env.plugins_file)
        _out(f"✓ {env.plugins_file}: valid")
        if warning := pf.nothing_enabled():
            _out(f"! {warning}")
    except ConfigError as exc:
        _out(f"✗ {exc}")
        return 2
    runtime = Runtime(env)
    runtime.plugins_file = pf
    runtime.host.discover(pf)
    order = runtime.host.load_enabled(pf.enabled_plugins())
    for name, record in sorted(runtime.host.records.items()):
        if record.state == PluginState.FAILED:
            ok = False
            _out(f"✗ plugin {name}: {record.error}")
        elif name in order:
            info = record.loaded.info if record.loaded else None
            _out(f"✓ plugin {name} {info.version if info else ''} would run ({record.source})")
        else:
            _out(f"· plugin {name}: not enabled in {env.plugins_file}")
    try:
        intents = compute_intents(runtime.host.intents())
        _out("✓ gateway intents: " + ", ".join(sorted(n for n, v in intents if v)))
    except ValueError as exc:
        ok = False
        _out(f"✗ {exc}")
    problem = token_problem(env.discord_token)
    _out(f"{'✗' if problem else '✓'} token: {problem or 'looks like a bot token'}")
    ok = ok and problem is None

    async def database() -> tuple[bool, str]:
        from core import db
        from core.migrator import missing_migrations, pending

        models = runtime.host.models()
        try:
            await db.connect(env.database_url, models, attempts=2)
        except OmoError as exc:
            return False, str(exc)
        try:
            missing = missing_migrations(models)
            todo = await pending(models)
        finally:
            await db.close()
        if missing:
            return False, f"no migrations for {', '.join(missing)}: run `omo db migrate {missing[0]}`"
        if todo:
            return False, "pending migrations (" + ", ".join(
                f"{a}: {len(v)}" for a, v in todo.items()
            ) + "): run `omo db upgrade`"
        return True, "reachable and migrated"

    db_ok, message = asyncio.run(database())
    scheme = env.database_url.split("://", 1)[0]
    _out(f"{'✓' if db_ok else '✗'} database ({scheme}): {message}")
    web = pf.web
    _out(f"→ would serve the dashboard on http://{web.host}:{web.port} and run: " + (", ".join(order) or "no plugins"))
    return 0 if ok and db_ok else 1


def cmd_db(args: argparse.Namespace, env: Environment) -> int:
    from core.migrator import app_locations, make_migration, upgrade_all

    models = _plugin_models(env)
    if args.db_command == "upgrade":
        applied = asyncio.run(upgrade_all(env.database_url, models, _out))
        total = sum(len(v) for v in applied.values())
        _out(f"done: {total} migration{'s' if total != 1 else ''} applied")
        return 0
    app = args.plugin
    locations = app_locations(models)
    if app not in locations:
        known = ", ".join(sorted(locations))
        _err(f"no app {app!r} with models among the enabled plugins ({known})")
        return 2
    module = "core.models" if app == "core" else models[app]
    _out(f"generating a migration for {app} (SQLite and PostgreSQL)…")
    path = asyncio.run(make_migration(app, module, locations[app], args.name))
    _out(f"wrote {path}" if path else f"no changes in the models of {app}")
    return 0


def cmd_plugins(args: argparse.Namespace, env: Environment) -> int:
    from core.control import send
    from core.plugin_host import PluginState
    from core.plugins_file import did_you_mean, load_plugins_file, set_plugin_enabled
    from core.runtime import Runtime

    if args.plugins_command == "list":
        pf = load_plugins_file(env.plugins_file)
        runtime = Runtime(env)
        runtime.plugins_file = pf
        runtime.host.discover(pf)
        runtime.host.load_enabled(list(runtime.host.records))
        _out(f"{'plugin':<16} {'version':<10} {'enabled':<8} {'source':<24} state")
        for name, record in sorted(runtime.host.records.items()):
            section = pf.plugins.get(name)
            enabled = "yes" if section and section.enabled else "no"
            state = f"failed: {record.error}" if record.state == PluginState.FAILED else "ok"
            _out(f"{name:<16} {record.version or '-':<10} {enabled:<8} {record.source:<24} {state}")
        return 0
    name = args.name
    if args.plugins_command in ("enable", "disable"):
        from core.plugin_host import discover

        found = discover()
        if args.plugins_command == "enable" and name not in found:
            pf = load_plugins_file(env.plugins_file)
            if not (pf.plugins.get(name) and pf.plugins[name].module):
                hint = did_you_mean(name, found)
                _err(f"unknown plugin {name!r}{hint}: not in plugins/ and no entry point in group 'omo.plugins'")
                return 2
        set_plugin_enabled(env.plugins_file, name, args.plugins_command == "enable")
        _out(f"{name} {args.plugins_command}d in {env.plugins_file}; a running omo applies it within seconds")
        return 0
    answer = asyncio.run(send(env.data_dir, {"op": "reload", "plugin": name}))
    if not answer.get("ok"):
        _err(str(answer.get("error")))
        return 1
    _out(f"reloaded {name} {answer['old_version']} → {answer['new_version']} in {answer['seconds'] * 1000:.0f} ms")
    return 0


def cmd_new_plugin(args: argparse.Namespace, env: Environment) -> int:
    from core.scaffold import import_path, scaffold_plugin

    created = scaffold_plugin(args.name, Path(args.dir))
    here = Path.cwd()
    for path in created:
        shown = path.absolute()
        _out(f"created {shown.relative_to(here) if shown.is_relative_to(here) else shown}")
    module = import_path(Path(args.dir), args.name)
    table = f"[plugins.{args.name}] enabled = true"
    if module != f"plugins.{args.name}":
        table += f', module = "{module}"'
    _out(f"next: add {table} to plugins.toml, run `omo db upgrade`, and `pytest {Path(args.dir) / args.name}`")
    return 0


# -------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``omo`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="omo",
        description="omo-bot: a plugin-based Discord bot framework.",
        epilog="Environment: DISCORD_TOKEN, DATABASE_URL, OMO_PLUGINS_FILE, OMO_DATA_DIR (see docs/operators.md).",
    )
    parser.add_argument("--version", action="version", version=f"omo {__version__}")
    parser.add_argument(
        "--log-format",
        choices=["json", "console"],
        help="log output (default: console on a terminal, json otherwise; env OMO_LOG_FORMAT)",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR (env OMO_LOG_LEVEL)")
    parser.add_argument("--plugins-file", type=Path, help="path of plugins.toml (env OMO_PLUGINS_FILE)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the bot, the dashboard and the pollers",
        description="Run the Discord gateway runtime, the web admin and the background jobs.",
    )
    run.add_argument("--discord-api", metavar="URL", help="Discord API base URL (an omo emulator)")
    run.add_argument("--shard-ids", type=parse_shard_ids, metavar="A-B", help="run only these shards")
    run.add_argument("--shard-count", type=int, metavar="N", help="total shards across all processes")
    run.add_argument("--dev-guild", type=int, metavar="ID", help="sync app commands to this guild only")
    run.add_argument("--host", help="dashboard host (default from plugins.toml: 127.0.0.1)")
    run.add_argument("--port", type=int, help="dashboard port (default from plugins.toml: 8787)")
    run.add_argument("--migrate", action="store_true", help="apply pending migrations before starting")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser(
        "demo",
        help="try omo offline: emulator + bot + dashboard, no token",
        description="Run the Discord emulator, the bot and the dashboard on SQLite, with "
        "simulated members. Needs no token and no network.",
    )
    demo.add_argument("--port", type=int, default=8787, help="dashboard port (default 8787)")
    demo.add_argument("--members", type=int, default=8, help="simulated members (default 8)")
    demo.add_argument("--quiet", action="store_true", help="no simulated chatter")
    demo.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    demo.set_defaults(func=cmd_demo)

    emu = sub.add_parser(
        "emulator",
        help="run the Discord emulator alone",
        description="Run the local Discord API emulator with a demo guild.",
    )
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    emu.set_defaults(func=cmd_emulator)

    check = sub.add_parser(
        "check",
        help="validate environment, plugins.toml, database and token",
        description="Validate everything and print what `omo run` would run.",
    )
    check.set_defaults(func=cmd_check)

    dbp = sub.add_parser("db", help="database migrations", description="Database migrations (aerich).")
    dbsub = dbp.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="apply pending migrations of every app")
    mig = dbsub.add_parser("migrate", help="create a migration for one app from its models")
    mig.add_argument("plugin", help="plugin name, or core")
    mig.add_argument("--name", default="update", help="migration name (default update)")
    dbp.set_defaults(func=cmd_db)

    pl = sub.add_parser(
        "plugins",
        help="list, enable, disable or reload plugins",
        description="Manage plugins. enable/disable edit plugins.toml (comments kept); a running "
        "process applies the change. reload asks the running process.",
    )
    plsub = pl.add_subparsers(dest="plugins_command", required=True, metavar="ACTION")
    plsub.add_parser("list", help="every discovered plugin")
    for action in ("enable", "disable", "reload"):
        p = plsub.add_parser(action, help=f"{action} a plugin")
        p.add_argument("name")
    pl.set_defaults(func=cmd_plugins)

    new = sub.add_parser(
        "new-plugin",
        help="scaffold a plugin",
        description="Create a plugin package with a cog, "
        "a model, a blueprint, settings, a migrations folder and a passing test.",
    )
    new.add_argument("name")
    new.add_argument("--dir", default="plugins", help="where to create it (default plugins/)")
    new.set_defaults(func=cmd_new_plugin)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``omo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        env = Environment.from_environ()
    except ConfigError as exc:
        _err(str(exc))
        return 2
    if args.plugins_file:
        env = Environment(**{**env.__dict__, "plugins_file": args.plugins_file})
    level = args.log_level or env.log_level
    if args.command == "demo" and not args.log_level and "OMO_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # the demo's banner is the output; its logs stay out of the way
    configure_logging(args.log_format or env.log_format, level)  # type: ignore[arg-type]
    try:
        result: Any = args.func(args, env)
        return int(result)
    except ConfigError as exc:
        _err(str(exc))
        return 2
    except OmoError as exc:
        _err(str(exc))
        log.debug("command failed", exc_info=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
