"""``omo demo``: the whole stack offline — Discord emulator, bot, dashboard and simulated members.

No token and no network: the emulator plays Discord on a local port, the omo
runtime connects to it like to the real thing, and a few simulated members chat
and use commands so that the dashboard has something to show. Demo data lives
in its own SQLite database and its own folder under the data dir, so it never
mixes with a real set-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
import tomlkit

from core.compose import compose_runtime
from core.environment import Environment, default_database_url
from core.errors import ConfigError, OmoError
from core.logging import register_secret
from core.plugin_host import call_plugin_hook, discover
from core.plugins_file import PluginsFileWatcher
from core.runtime import SHUTDOWN_SECONDS, RunOptions, Runtime
from core.testing.emulator import Channel, Emulator, Guild, Member, Role, restore_discord_py
from core.testing.emulator import permissions as perms
from core.testing.emulator.state import DISCORD_EPOCH_MS, AppCommand, OAuthGrant

log = structlog.get_logger("omo.demo")

GUILD_NAME = "omo demo"
DEMO_USER = "you"
MEMBER_NAMES = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
    "walter",
    "yara",
)
CHATTER = (
    "good morning everyone!",
    "has anyone tried the new feed?",
    "brb, coffee",
    "that was a great match yesterday",
    "who is up for a game tonight?",
    "I just levelled up :tada:",
    "lol",
    "what's on the schedule today?",
    "thanks for the help earlier",
    "anyone seen the announcement?",
    "how do I use the bot here?",
    "the dashboard looks neat",
    "see you all later",
    "gg",
    "this server is getting busy",
)
WORDS = ("hello", "omo", "demo", "pizza", "rocket", "sunny", "teal", "waffle", "zebra", "quiz")
#: Seconds between two simulated actions (jittered uniformly in this range).
ACTION_INTERVAL = (2.0, 5.0)
FIRST_ACTION_DELAY = 1.0
READY_TIMEOUT = 20.0

# Discord application command option types
_SUB_COMMAND, _SUB_GROUP, _STRING, _INTEGER, _BOOLEAN = 1, 2, 3, 4, 5
_USER, _CHANNEL, _ROLE, _MENTIONABLE, _NUMBER = 6, 7, 8, 9, 10
#: Core commands only an operator or guild admin may run: the simulated members leave them alone.
_ADMIN_ONLY = ("plugins enable", "plugins disable", "plugins reload")


class DemoError(OmoError):
    """The demo cannot start (port taken, database unreachable...); the message says what to do."""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------- world
@dataclass
class DemoWorld:
    """The demo guild and the people in it, on ``emulator`` (what ``omo_demo_setup`` hooks receive)."""

    emulator: Emulator
    guild: Guild
    you: Member
    members: list[Member]
    text_channels: list[Channel]
    chat_channels: list[Channel]
    roles: dict[str, Role]


def member_names(count: int) -> Iterator[str]:
    """``count`` distinct, friendly user names."""
    for index in range(count):
        base = MEMBER_NAMES[index % len(MEMBER_NAMES)]
        yield base if index < len(MEMBER_NAMES) else f"{base}{index // len(MEMBER_NAMES) + 1}"


def build_world(emu: Emulator, members: int) -> DemoWorld:
    """Create the "omo demo" guild: channels, roles, ``members`` simulated members and the Admin "you"."""
    owner = emu.create_user("demo-owner", global_name="Demo Owner")
    guild = emu.create_guild(GUILD_NAME, owner)
    general = emu.general(guild)
    info = emu.create_channel(guild, "Info", "category")
    announcements = emu.create_channel(guild, "announcements", "text", parent=info, topic="News from the team")
    feeds = emu.create_channel(guild, "feeds", "text", parent=info, topic="Feeds and daily digests")
    emu.create_channel(guild, "Lounge", "voice")
    roles = {
        "Member": emu.create_role(guild, "Member", color=0x3498DB),
        "Moderator": emu.create_role(
            guild, "Moderator", perms.MANAGE_MESSAGES | perms.KICK_MEMBERS, hoist=True, color=0x2ECC71
        ),
        "Admin": emu.create_role(guild, "Admin", perms.ADMINISTRATOR, hoist=True, color=0xE74C3C),
    }
    you = emu.create_member(guild, DEMO_USER, roles=[roles["Admin"], roles["Member"]], global_name="You")
    emu.oauth.preselect = you.user_id  # the emulator's login page offers "you" first
    emu.oauth.notes[you.user_id] = "the bot's operator in this demo: log in as this one"
    people = []
    for index, name in enumerate(member_names(max(0, members))):
        granted = [roles["Member"], roles["Moderator"]] if index == 1 else [roles["Member"]]
        people.append(emu.create_member(guild, name, roles=granted, global_name=name.capitalize()))
    chat = [general, general, general, feeds]
    return DemoWorld(emu, guild, you, people, [general, announcements, feeds], chat, roles)


async def setup_plugins(runtime: Runtime, world: DemoWorld) -> list[str]:
    """Call ``omo_demo_setup`` on every enabled plugin; return the names whose set-up failed.

    A failing set-up is logged and the others still run: the demo goes on without that plugin's part.
    """
    failed: list[str] = []
    for name in runtime.host.enabled_names():
        loaded = runtime.host.loaded(name)
        if loaded is None:
            continue
        try:
            await call_plugin_hook(loaded.module, "omo_demo_setup", plugin=loaded.context, demo=world)
        except Exception as exc:  # one plugin's demo set-up must never stop the demo
            failed.append(name)
            log.warning("demo set-up failed", plugin=name, error=f"{type(exc).__name__}: {exc}", exc_info=True)
    return failed


# -------------------------------------------------------- a stable world
WORLD_FILE = "world.json"


def world_start(demo_dir: Path) -> int:
    """Where the demo's ids start (ms since Discord's epoch): read from ``world.json`` in the demo folder,
    written there on the first run, so every run builds the same guild, channels and users with the same ids
    (settings and the dashboard login carry over)."""
    path = demo_dir / WORLD_FILE
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        start = int(json.loads(path.read_text(encoding="utf-8"))["start_ms"])
        if 0 < start < 1 << 41:
            return start
    start = int(time.time() * 1000) - DISCORD_EPOCH_MS
    demo_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"start_ms": start}), encoding="utf-8")
    return start


def save_world_state(demo_dir: Path, emu: Emulator) -> None:
    """Keep what Discord itself would keep beside the world: the OAuth2 tokens (a dashboard session survives a
    restart) and the registered commands (the bot remembers it synced them)."""
    path = demo_dir / WORLD_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        state["oauth"] = {
            kind: {token: dataclasses.asdict(grant) for token, grant in grants.items()}
            for kind, grants in (("access", emu.world.oauth_access), ("refresh", emu.world.oauth_refresh))
        }
        state["commands"] = [dataclasses.asdict(command) for command in emu.world.commands.values()]
        path.write_text(json.dumps(state), encoding="utf-8")
        path.chmod(0o600)
    except (OSError, ValueError, TypeError) as exc:
        log.warning("could not keep the demo's logins and commands", error=str(exc))


def restore_world_state(demo_dir: Path, emu: Emulator) -> int:
    """Put back what :func:`save_world_state` kept; returns how many tokens and commands."""
    try:
        saved = json.loads((demo_dir / WORLD_FILE).read_text(encoding="utf-8"))
        restored = 0
        oauth = saved.get("oauth") or {}
        for kind, target in (("access", emu.world.oauth_access), ("refresh", emu.world.oauth_refresh)):
            for token, grant in (oauth.get(kind) or {}).items():
                target[str(token)] = OAuthGrant(**grant)
                restored += 1
        for data in saved.get("commands") or []:
            command = AppCommand(**data)
            emu.world.commands[command.id] = command
            restored += 1
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("could not restore the demo's logins and commands", error=str(exc))
        return 0
    return restored


# ------------------------------------------------------------ environment
def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Raise :class:`DemoError` naming ``port`` and ``--port`` when something already listens there."""
    if port == 0:
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise DemoError(f"port {port} {reason}: pick another one with `omo demo --port N`") from None
    finally:
        sock.close()


def demo_database_url(env: Environment) -> str:
    """DATABASE_URL when set explicitly, else a demo SQLite file beside (never inside) the real one."""
    if os.environ.get("DATABASE_URL") and env.database_url != default_database_url(env.data_dir):
        return env.database_url
    return f"sqlite://{env.data_dir / 'demo.sqlite3'}"


def describe_database(url: str) -> str:
    """``sqlite (path)`` or ``postgres (host:port/name)``: where the data goes, without credentials."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        return f"sqlite ({rest})"
    parsed = urlsplit(url)
    return f"{scheme} ({parsed.hostname}:{parsed.port or 5432}{parsed.path})"


def demo_plugins_file(env: Environment, operator_id: int) -> Path:
    """The user's plugins.toml if there is one, else a demo one enabling every in-tree plugin."""
    if env.plugins_file.exists():
        return env.plugins_file
    path = env.data_dir / "demo-plugins.toml"
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Written by `omo demo` on every start: every in-tree plugin, enabled."))
    doc.add(tomlkit.comment("Create your own plugins.toml to choose; the demo then uses that one."))
    bot = tomlkit.table()
    bot["owners"] = [operator_id]
    doc["bot"] = bot
    table = tomlkit.table(is_super_table=True)
    for name, (_module, source) in sorted(discover().items()):
        if source == "in-tree":
            entry = tomlkit.table()
            entry["enabled"] = True
            table[name] = entry
    doc["plugins"] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def demo_environment(env: Environment, emu: Emulator, operator_id: int) -> Environment:
    """``env`` pointed at the emulator, the demo database and the demo folder, with "you" as operator."""
    for secret in (emu.bot_token, emu.client_secret):
        register_secret(secret)
    return dataclasses.replace(
        env,
        discord_token=emu.bot_token,
        discord_api=emu.base_url,
        client_id=str(emu.application_id),
        client_secret=emu.client_secret,
        database_url=demo_database_url(env),
        data_dir=env.data_dir / "demo",
        plugins_file=demo_plugins_file(env, operator_id),
        owners=sorted({*env.owners, operator_id}),
    )


# --------------------------------------------------------------- simulator
@dataclass
class Leaf:
    """One runnable slash command: its full name and its option schema."""

    path: str
    options: list[dict[str, Any]]


def command_leaves(commands: list[dict[str, Any]]) -> list[Leaf]:
    """Every chat-input command and subcommand the simulated members may run (admin-only ones left out)."""
    leaves: list[Leaf] = []

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o["type"] in (_SUB_COMMAND, _SUB_GROUP)]
        if not subs:
            if prefix not in _ADMIN_ONLY:
                leaves.append(Leaf(prefix, options))
            return
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options") or [])

    for command in commands:
        if command.get("type", 1) != 1 or command.get("default_member_permissions") not in (None, "", "0"):
            continue
        walk(command["name"], command.get("options") or [])
    return leaves


class Simulator:
    """Simulated members chatting and running commands, one action every few seconds."""

    def __init__(self, emu: Emulator, world: DemoWorld, rng: random.Random | None = None) -> None:
        self.emu = emu
        self.world = world
        self.rng = rng or random.Random()
        self.messages = 0
        self.commands = 0
        self.failures = 0

    async def run(self) -> None:
        """Act until cancelled; a failing action is logged and the next one runs."""
        if not self.world.members:
            return
        await asyncio.sleep(FIRST_ACTION_DELAY)
        actions = 0
        while True:
            try:
                await self.act(actions)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a simulated action must never stop the demo
                self.failures += 1
                log.warning("simulated action failed", error=f"{type(exc).__name__}: {exc}")
            actions += 1
            await asyncio.sleep(self.rng.uniform(*ACTION_INTERVAL))

    async def act(self, number: int = 0) -> None:
        """One action: a greeting first, then /help, then mostly chat, sometimes a registered command."""
        member = self.rng.choice(self.world.members)
        if number == 0:
            await self.chat(member, "hi everyone! :wave:", self.world.text_channels[0])
            return
        roll = 0.6 if number == 1 else self.rng.random()
        if roll < 0.55:
            await self.chat(member)
        elif roll < 0.7:
            await self.invoke(member, Leaf("help", []))
        else:
            leaves = [c for c in command_leaves(self.registered()) if c.path != "help"]
            await (self.invoke(member, self.rng.choice(leaves)) if leaves else self.chat(member))

    def registered(self) -> list[dict[str, Any]]:
        """Global and demo-guild commands the bot has registered."""
        return self.emu.registered_commands() + self.emu.registered_commands(self.world.guild)

    async def chat(self, member: Member, text: str | None = None, channel: Channel | None = None) -> None:
        """``member`` says ``text`` (or something random) in ``channel`` (or a chat channel), now and then to
        someone."""
        text = text or self.rng.choice(CHATTER)
        others = [m for m in self.world.members if m.user_id != member.user_id]
        if others and self.rng.random() < 0.2:
            text = f"<@{self.rng.choice(others).user_id}> {text}"
        await self.emu.send_message(member, channel or self.rng.choice(self.world.chat_channels), text)
        self.messages += 1

    async def invoke(self, member: Member, leaf: Leaf) -> None:
        """``member`` runs ``leaf`` in #general with plausible arguments."""
        channel = self.world.text_channels[0]
        options: dict[str, Any] = {}
        for option in leaf.options:
            if option.get("required") or self.rng.random() < 0.3:
                options[option["name"]] = await self.argument(member, channel, leaf.path, option)
        result = await self.emu.invoke(member, channel, leaf.path, options, timeout=5.0)
        self.commands += 1
        log.info("simulated command", user=member.user_id, command=leaf.path, answered=result.type is not None)

    async def argument(self, member: Member, channel: Channel, command: str, option: dict[str, Any]) -> Any:
        """A sensible random value for one command option."""
        kind = option["type"]
        if option.get("choices"):
            return self.rng.choice(option["choices"])["value"]
        if option.get("autocomplete"):
            choices = await self.emu.autocomplete(member, channel, command, option["name"], "")
            if choices:
                return self.rng.choice(choices)["value"]
        if kind == _STRING:
            low, high = option.get("min_length", 1), option.get("max_length", 24)
            word = self.rng.choice(WORDS)
            return (word * (1 + low // len(word)))[: max(low, min(len(word), high))]
        if kind in (_INTEGER, _NUMBER):
            low = option.get("min_value", 1)
            high = option.get("max_value", max(low, 1) + 9)
            value = self.rng.randint(int(low), int(high)) if kind == _INTEGER else self.rng.uniform(low, high)
            return value
        if kind == _BOOLEAN:
            return self.rng.random() < 0.5
        if kind in (_USER, _MENTIONABLE):
            return self.rng.choice(self.world.members)
        if kind == _CHANNEL:
            return self.rng.choice(self.world.text_channels)
        if kind == _ROLE:
            return self.world.roles["Member"]
        return self.rng.choice(WORDS)


# ------------------------------------------------------------------- run
def omo_command() -> str:
    """How to call ``omo`` from here: the script beside this Python (``.venv/bin/omo``), relative when under
    the current folder; plain ``omo`` when there is none."""
    script = Path(sys.executable).parent / "omo"
    if not script.exists():
        return "omo"
    here = Path.cwd()
    return str(script.relative_to(here)) if script.is_relative_to(here) else str(script)


def _banner(
    world: DemoWorld, runtime: Runtime, emu: Emulator, env: Environment, simulate: bool, open_for: float | None
) -> list[str]:
    names = ", ".join(emu.user(m.user_id).username for m in world.members[:4])
    more = f" and {len(world.members) - 4} more" if len(world.members) > 4 else ""
    plugins = ", ".join(runtime.host.enabled_names()) or "none (only core commands)"
    lines = [
        "",
        "omo demo is running — nothing here talks to discord.com",
        f'  dashboard  http://127.0.0.1:{runtime.web_port}/   (log in as "{DEMO_USER}" on the emulator\'s '
        "approval page: an Admin of the guild and the bot's operator)",
        f"  emulator   {emu.base_url}/   (open it to watch the channels live; control API: {emu.base_url}/_emulator)",
        f'  guild      "{GUILD_NAME}": #general, #announcements, #feeds, Lounge (voice); roles Admin, '
        "Moderator, Member",
        f"  plugins    {plugins}",
        f"  database   {describe_database(env.database_url)}",
        f"  reload     OMO_DATA_DIR={env.data_dir} {omo_command()} plugins reload NAME   "
        f"(kill -HUP {os.getpid()} re-reads {env.plugins_file.name})",
    ]
    if simulate and world.members:
        lines.append(
            f"  members    {len(world.members)} simulated ({names}{more}) chat in #general and #feeds "
            "and run /help and the plugins' commands every few seconds"
        )
    else:
        lines.append(f"  members    {len(world.members)}, quiet (no simulated chatter)")
    lines.append(f"Stops by itself after {open_for:g} s." if open_for is not None else "Ctrl-C to stop.")
    lines.append("")
    return lines


async def run_demo(
    env: Environment, *, port: int = 8787, members: int = 8, simulate: bool = True, open_for: float | None = None
) -> None:
    """Run emulator, bot and dashboard offline until Ctrl-C / SIGTERM (or ``open_for`` seconds), then stop.

    Raises :class:`DemoError` (an :class:`OmoError`) with a one-line reason when it cannot start,
    e.g. when ``port`` is taken.
    """
    check_port_free(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    runtime: Runtime | None = None
    rereads: set[asyncio.Task[None]] = set()

    async def reread_file(live: Runtime, watcher: PluginsFileWatcher) -> None:
        await watcher.reread()
        error = live.plugins_file_error
        _out(f"SIGHUP: {live.plugins_file_path} " + (f"rejected: {error}" if error else "re-read and applied"))

    def reread() -> None:
        """SIGHUP: re-read plugins.toml, like ``omo run`` does."""
        watcher = runtime.plugins_file_watcher if runtime is not None else None
        if runtime is None or watcher is None:
            return
        task = loop.create_task(reread_file(runtime, watcher), name="omo:demo-sighup")
        rereads.add(task)
        task.add_done_callback(rereads.discard)

    installed: list[signal.Signals] = []
    handlers: list[tuple[signal.Signals, Any]] = [(signal.SIGINT, stop.set), (signal.SIGTERM, stop.set)]
    if hasattr(signal, "SIGHUP"):
        handlers.append((signal.SIGHUP, reread))
    for sig, handler in handlers:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handler)
            installed.append(sig)

    _out("starting emulator…")
    demo_dir = env.data_dir / "demo"
    emu = Emulator(snowflake_start_ms=world_start(demo_dir))
    await emu.start("127.0.0.1", 0)
    simulation: asyncio.Task[None] | None = None
    simulator: Simulator | None = None

    async def bring_up() -> tuple[DemoWorld, Environment]:
        nonlocal runtime
        world = build_world(emu, members)
        emu.world.snowflakes.thaw()  # the world has its usual ids; messages from now on get today's
        restore_world_state(demo_dir, emu)
        demo_env = demo_environment(env, emu, world.you.user_id)
        demo_env.data_dir.mkdir(parents=True, exist_ok=True)
        _out(f"using {demo_env.plugins_file} and the demo database; migrating database…")
        options = RunOptions(
            discord_api=emu.base_url,
            web_host="127.0.0.1",
            web_port=port,
            auto_migrate=True,
            bot_options={"guild_ready_timeout": 0.5},
            freeze_heap=True,
        )
        runtime = compose_runtime(demo_env, options)
        try:
            await runtime.start()
        except ConfigError as exc:
            if "cannot listen" in str(exc):
                raise DemoError(f"port {port} is already in use: pick another one with `omo demo --port N`") from None
            raise
        _out("connecting the bot…")
        if not await runtime.bot.wait_ready_or_timeout(READY_TIMEOUT):
            raise DemoError(f"the bot did not connect to the emulator within {READY_TIMEOUT:g} s (see the log)")
        guilds = len(runtime.bot.guilds)
        _out(f"bot connected to {guilds} guild{'s' if guilds != 1 else ''}")
        failed = await setup_plugins(runtime, world)
        if failed:
            _out(f"demo set-up failed for {', '.join(failed)} (see the log); the demo goes on")
        return world, demo_env

    try:
        starting = loop.create_task(bring_up(), name="omo:demo-start")
        stopped = loop.create_task(stop.wait(), name="omo:demo-stop")
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not starting.done():  # Ctrl-C while starting
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        else:
            world, demo_env = starting.result()
            assert runtime is not None
            for line in _banner(world, runtime, emu, demo_env, simulate, open_for):
                _out(line)
            if simulate:
                simulator = Simulator(emu, world)
                simulation = loop.create_task(simulator.run(), name="omo:demo-members")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), open_for)
        _out("stopping…")
    finally:
        if simulation is not None:
            simulation.cancel()
            await asyncio.gather(simulation, return_exceptions=True)
        for task in list(rereads):
            task.cancel()
        await asyncio.gather(*rereads, return_exceptions=True)
        if runtime is not None:
            try:
                await asyncio.wait_for(runtime.stop(), SHUTDOWN_SECONDS - 2)
            except TimeoutError:
                log.warning("runtime did not stop in time")
        save_world_state(demo_dir, emu)
        await emu.stop()
        restore_discord_py()
        for sig in installed:
            loop.remove_signal_handler(sig)
    if simulator is not None:
        _out(
            f"stopped: simulated members sent {_count(simulator.messages, 'message')} and ran "
            f"{_count(simulator.commands, 'command')} ({simulator.failures} failed)"
        )
    else:
        _out("stopped")
