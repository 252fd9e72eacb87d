"""The runtime: one asyncio loop running the gateway client, the web app and the scheduler.

``Runtime.start`` brings everything up in order (plugins.toml, plugin imports,
database, gate, bot, web, plugins, gateway); ``Runtime.stop`` stops accepting
work, lets in-flight writes finish and closes the gateway and the database.

The runtime does not know which web app it serves: the composition point
(:mod:`core.compose`, used by ``omo run``, ``omo demo`` and the test fixtures)
hands it a factory (the web admin's ``create_app``). Without one, no web server
runs and plugin blueprints are not mounted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import structlog
from tortoise import connections

from core import db
from core.bot import OmoBot, command_prefix, compute_intents
from core.builtin_commands import CoreCommands
from core.bus import Bus
from core.environment import Environment
from core.errors import ConfigError, DatabaseError
from core.gate import Gate
from core.migrator import missing_migrations, pending, upgrade_all
from core.plugin_host import PluginHost, PluginState
from core.plugins_file import PluginsFile, PluginsFileWatcher, load_plugins_file
from core.scheduler import Scheduler
from core.settings import DefaultSettings, SettingsService

if TYPE_CHECKING:
    from hypercorn.config import Config as HypercornConfig
    from quart import Quart

    from core.web_mount import WebMount

#: Builds the web app a runtime serves (the web admin's ``create_app``); it may set ``runtime.web_mount`` so
#: that plugin blueprints are mounted on the app.
WebAppFactory = Callable[["Runtime"], "Quart"]

log = structlog.get_logger("omo.runtime")
SHUTDOWN_SECONDS = 10.0


@dataclass
class RunOptions:
    """How ``omo run`` was asked to run (CLI flags over plugins.toml)."""

    token: str | None = None
    discord_api: str | None = None
    shard_ids: list[int] | None = None
    shard_count: int | None = None
    dev_guild: int | None = None
    web_host: str | None = None
    web_port: int | None = None
    auto_migrate: bool = False
    connect_gateway: bool = True
    watch_interval: float = 1.0
    control_socket: bool = True
    bot_options: dict[str, Any] = field(default_factory=dict)
    #: After start-up and on each gateway READY, move the objects alive then (modules, plugins, the guild
    #: cache) out of the cyclic garbage collector's way (``gc.freeze``), so its full passes walk only what
    #: was made since. ``omo run`` and ``omo demo`` turn it on; tests that start many runtimes leave it off.
    freeze_heap: bool = False


class Runtime:
    """Everything one omo process runs."""

    def __init__(
        self, env: Environment, options: RunOptions | None = None, *, web: WebAppFactory | None = None
    ) -> None:
        self.env = env
        self.web_factory = web
        self.options = options or RunOptions()
        self.plugins_file_path: Path = env.plugins_file
        self.plugins_file: PluginsFile = PluginsFile()
        self.plugins_file_error: str | None = None
        self.scheduler = Scheduler(lease_seconds=env.job_lease_seconds)
        self.host = PluginHost(self)
        self.settings = SettingsService(self.host)
        self.bus = Bus()
        self.gate = Gate(self._guild_default, self._known_guilds, self._on_toggle)
        self.bot: OmoBot = None  # type: ignore[assignment]  # set in start()
        self.app: Quart | None = None
        self.web_mount: WebMount | None = None
        self.web_port: int | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._web_shutdown = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        self.plugins_file_watcher: PluginsFileWatcher | None = None
        self.db_ok = False

    # ---------------------------------------------------------------- helpers
    def _guild_default(self, plugin: str) -> bool:
        section = self.plugins_file.plugins.get(plugin)
        return section.guild_default if section else True

    def _known_guilds(self) -> list[int]:
        return [g.id for g in self.bot.guilds] if self.bot is not None else []

    async def _on_toggle(self, guild_id: int, plugin: str, enabled: bool, actor_id: int | None) -> None:
        await self.host.hooks.broadcast(
            "omo_plugin_toggled", guild_id=guild_id, plugin=plugin, enabled=enabled, actor_id=actor_id
        )

    def owners(self) -> list[int]:
        """Operators: bot owners from plugins.toml and ``OMO_OWNERS``."""
        return sorted({*self.plugins_file.bot.owners, *self.env.owners})

    def is_operator(self, user_id: int) -> bool:
        """Whether ``user_id`` is an operator of this bot."""
        owners = self.owners()
        if owners:
            return user_id in owners
        return self.bot is not None and user_id in ({self.bot.owner_id} | set(self.bot.owner_ids or ()))

    @property
    def dev_guild(self) -> int | None:
        """Guild that app commands are synced to in development (None: global)."""
        return self.options.dev_guild or self.plugins_file.bot.dev_guild

    @contextlib.asynccontextmanager
    async def barrier_for_swap(self) -> AsyncIterator[None]:
        """Hold commands and events while a plugin is swapped, then release them in order."""
        async with self.host.barrier.closed():
            yield
        if self.host.barrier.is_open:
            self.bot.release_held()

    def after_commands_changed(self) -> None:
        """Sync app commands soon (debounced) if the bot is logged in."""
        if self.bot is None or self.bot.application_id is None or self._stopping.is_set():
            return
        if self._sync_task is not None and not self._sync_task.done():
            self._sync_task.cancel()

        async def later() -> None:
            await asyncio.sleep(0.5)
            try:
                await self.bot.sync_commands(self.dev_guild)
            except discord.HTTPException as exc:
                log.error("command sync failed", error=str(exc))
            except Exception:  # e.g. the HTTP session closed by a stop: logged, never left unretrieved
                log.exception("command sync failed")

        self._sync_task = asyncio.get_running_loop().create_task(later())

    # ------------------------------------------------------------------ start
    def read_plugins_file(self) -> PluginsFile:
        """Load plugins.toml (raises :class:`ConfigError`)."""
        return load_plugins_file(self.plugins_file_path)

    async def start(self) -> None:
        """Bring the whole process up; raises ConfigError / DatabaseError with what to do."""
        opts = self.options
        self.plugins_file = self.read_plugins_file()
        watcher = PluginsFileWatcher(self.plugins_file_path, opts.watch_interval, self.apply_plugins_file)
        self.plugins_file_watcher = watcher
        self.host.discover(self.plugins_file)
        order = self.host.load_enabled(self.plugins_file.enabled_plugins())
        models = self.host.models()
        shared = db.in_use()
        if opts.auto_migrate and not shared:
            await upgrade_all(self.env.database_url, models, lambda m: log.info("migrate", step=m))
        await db.connect(self.env.database_url, models)
        self.db_ok = True
        if opts.auto_migrate and shared:
            await upgrade_all(self.env.database_url, models, lambda m: log.info("migrate", step=m), connected=True)
        missing = missing_migrations(models)
        todo = await pending(models)
        if missing or todo:
            await db.close()
            self.db_ok = False
            what = ", ".join(missing) if missing else ", ".join(f"{a} ({len(v)})" for a, v in todo.items())
            raise DatabaseError(f"the database is not migrated ({what}): run `omo db upgrade`")
        await self.gate.load()
        await self.bus.start(self.env.database_url if self.env.is_postgres else None)
        self.gate.attach_bus(self.bus)
        self.settings.attach_bus(self.bus)
        self.host.attach_bus(self.bus)
        if opts.discord_api:
            from core.discord_target import point_discord_py_at

            point_discord_py_at(opts.discord_api)
        shard_opts: dict[str, Any] = {}
        if opts.shard_count is not None:
            shard_opts["shard_count"] = opts.shard_count
            shard_opts["shard_ids"] = opts.shard_ids or list(range(opts.shard_count))
        intents = compute_intents(self.host.intents())
        self.bot = OmoBot(self, intents=intents, **shard_opts, **opts.bot_options)
        if self.web_factory is not None:
            await self._start_web(self.web_factory)
        self.host.pm.register(DefaultSettings(), name="core.settings")
        await self.host.start_all(order)
        await self.host.hooks.call_historic("omo_runtime_started", runtime=self)
        if opts.connect_gateway:
            self._tasks.append(asyncio.get_running_loop().create_task(self._run_gateway(), name="omo:gateway"))
        self._tasks.append(asyncio.get_running_loop().create_task(watcher.run(), name="omo:watch"))
        if opts.control_socket:
            from core.control import serve_control

            self._tasks.append(asyncio.get_running_loop().create_task(serve_control(self), name="omo:control"))
        self.settle_heap()
        log.info(
            "runtime started",
            plugins=self.host.enabled_names(),
            web=self.web_url,
            failed={n: r.error for n, r in self.host.records.items() if r.state == PluginState.FAILED},
        )

    def _install_loop_exception_filter(self) -> None:
        """Keep Python 3.11's false alarm about cancelled web connections out of the log.

        When hypercorn cancels the task of an open keep-alive connection at shutdown, asyncio 3.11 asks the
        cancelled task for its exception from a stream callback and logs the resulting CancelledError as
        "Exception in callback" (fixed in 3.12, which checks ``task.cancelled()`` first). Everything else
        goes to the handler that was there before.
        """
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if isinstance(context.get("exception"), asyncio.CancelledError) and "StreamReaderProtocol" in repr(
                context.get("handle")
            ):
                return
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        if sys.version_info < (3, 12):
            loop.set_exception_handler(handler)

    def settle_heap(self) -> None:
        """With ``freeze_heap``: thaw what an earlier call froze, collect the garbage (including frozen objects
        dropped since, such as a guild cache replaced by a new READY), then freeze what is left (see RunOptions)."""
        if not self.options.freeze_heap:
            return
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        log.info("heap settled", frozen_objects=gc.get_freeze_count(), ms=round((time.perf_counter() - started) * 1000))

    async def on_bot_setup(self) -> None:
        """Called from the bot's ``setup_hook`` after login: core commands and the first sync."""
        if self.bot.get_cog("omo") is None:
            await self.bot.add_cog(CoreCommands(self))
        if not self.owners():
            with contextlib.suppress(discord.HTTPException):
                info = await self.bot.application_info()
                self.bot.owner_id = info.owner.id
        try:
            await self.bot.sync_commands(self.dev_guild)
        except discord.HTTPException as exc:
            log.error("command sync failed", error=str(exc))

    async def _run_gateway(self) -> None:
        token = self.options.token or self.env.discord_token
        if not token:
            log.error("no DISCORD_TOKEN: the gateway is not started")
            return
        try:
            await self.bot.start(token, reconnect=True)
        except discord.LoginFailure:
            log.error("Discord rejected the bot token: check DISCORD_TOKEN")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("gateway stopped with an error")

    # -------------------------------------------------------------------- web
    @property
    def web_url(self) -> str | None:
        """Where the dashboard listens."""
        if self.web_port is None:
            return None
        host = self.options.web_host or self.plugins_file.web.host
        return f"http://{host}:{self.web_port}"

    async def _start_web(self, factory: WebAppFactory) -> None:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        self.app = factory(self)
        self._install_loop_exception_filter()
        host = self.options.web_host or self.plugins_file.web.host
        port = self.options.web_port if self.options.web_port is not None else self.plugins_file.web.port
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.listen(512)
        sock.set_inheritable(True)
        self.web_port = sock.getsockname()[1]
        config: HypercornConfig = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 3
        config.include_server_header = False  # no "server: hypercorn-h11" for scanners
        self._web_socket = sock
        assert self.app is not None
        await self.app.startup()
        self._tasks.append(
            asyncio.get_running_loop().create_task(
                serve(self.app, config, shutdown_trigger=self._web_shutdown.wait, mode="asgi"),  # type: ignore[arg-type]
                name="omo:web",
            )
        )

    # ------------------------------------------------------- plugins.toml live
    async def apply_plugins_file(self) -> bool:
        """Re-read plugins.toml and apply it; a bad file is rejected and the last good one stays."""
        try:
            new = self.read_plugins_file()
        except ConfigError as exc:
            self.plugins_file_error = str(exc)
            log.error("plugins.toml rejected, keeping the last good one", error=str(exc))
            return False
        old, self.plugins_file = self.plugins_file, new
        self.plugins_file_error = None
        self.host.discover(new)
        for name, record in self.host.records.items():
            if record.loaded is not None:
                record.loaded.context.defaults = self.host.defaults_of(name)
        self.bot.command_prefix = command_prefix(new.bot.prefix, self.bot.intents)
        wanted, running = set(new.enabled_plugins()), set(self.host.enabled_names())
        unknown = [n for n in new.enabled_plugins() if not self.host.records[n].module_name]
        if unknown:
            log.warning("plugins.toml names unknown plugins", plugins=unknown)
        for name in [n for n in old.enabled_plugins() if n in running and n not in wanted][::-1]:
            await self.host.disable(name)
        for name in new.enabled_plugins():
            if name not in running and name not in unknown:
                await self.host.enable(name)
        log.info("plugins.toml applied", enabled=self.host.enabled_names())
        return True

    # ------------------------------------------------------------------- stop
    def request_stop(self) -> None:
        """Ask :meth:`serve` to stop (signal handlers call this)."""
        self._stopping.set()

    async def serve(self) -> None:
        """Start, run until SIGTERM/SIGINT (SIGHUP re-reads plugins.toml), then stop within 10 s."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.apply_plugins_file()))
        try:
            await self.start()
            await self._stopping.wait()
        finally:
            await asyncio.wait_for(self.stop(), SHUTDOWN_SECONDS)

    async def stop(self) -> None:
        """Stop accepting work, finish in-flight writes, close gateway, web and database."""
        self._stopping.set()
        log.info("runtime stopping")
        if self._sync_task is not None:  # a pending command sync (a reload just before) has nothing to sync to
            self._sync_task.cancel()
        if self.bot is None:
            await self.scheduler.shutdown()
        else:
            # no new events or commands from here on; running jobs, handlers and commands finish their
            # writes (and replies: the connection to Discord stays open until they are done or late)
            self.bot.stop_accepting()
            _, left = await asyncio.gather(self.scheduler.shutdown(), self.bot.drain(timeout=4.0))
            if left:
                log.warning("handlers still running at shutdown", count=left)
            with contextlib.suppress(Exception):
                await self.bot.close()
            with contextlib.suppress(Exception):
                await self.host.stop_all()
        self._web_shutdown.set()
        if self.app is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.app.shutdown(), 3)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        sock = getattr(self, "_web_socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        await self.bus.close()
        if self.db_ok:
            await db.close()
            self.db_ok = False
        control = self.env.data_dir / "control.sock"
        with contextlib.suppress(OSError):
            if control.is_socket() and os.environ.get("OMO_KEEP_SOCKET") is None:
                control.unlink()
        log.info("runtime stopped")

    # ---------------------------------------------------------------- health
    async def readiness(self) -> dict[str, Any]:
        """Database and gateway health for /readyz and the operator page."""
        database: dict[str, Any]
        try:
            started = time.perf_counter()
            conn = connections.get("default")
            await asyncio.wait_for(conn.execute_query("SELECT 1"), 2)
            database = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            database = {"ok": False, "error": type(exc).__name__}
        bot = self.bot
        shards = []
        if bot is not None and bot.shards:
            for shard_id, shard in sorted(bot.shards.items()):
                latency = shard.latency
                shards.append(
                    {
                        "id": shard_id,
                        "connected": not shard.is_closed(),
                        "latency_ms": None
                        if latency != latency or latency == float("inf")
                        else round(latency * 1000, 1),
                    }
                )
        gateway = {"ok": bool(bot is not None and bot.is_ready() and not bot.is_closed()), "shards": shards}
        return {"ok": database["ok"] and gateway["ok"], "database": database, "gateway": gateway}
