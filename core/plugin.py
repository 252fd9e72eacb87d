"""The public plugin API: everything a plugin imports from core comes from here.

``hookimpl``, ``PluginInfo``, ``NavItem``, ``PluginContext``, ``RunningPlugin``, ``is_guild_admin``, and
for a plugin's own data layer ``retrying`` (a database call retried over a lost connection),
``is_transient`` (whether a database error is worth retrying) and the errors ``OmoError`` (base of errors
whose message is for the user) and ``DatabaseError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic

import pluggy
import structlog
from pydantic import BaseModel
from typing_extensions import TypeVar

from core.db import is_transient, retrying
from core.errors import DatabaseError, OmoError
from core.json_limits import JSONTooDeep, loads_bounded
from core.plugins_file import PLUGIN_NAME
from core.scheduler import NO_GUILD, daily_expression, fixed_zone, setting_zone, zone_named

if TYPE_CHECKING:
    import discord
    from discord.ext import commands

    from core.contributions import Contributions
    from core.runtime import Runtime

__all__ = [
    "PLUGIN_NAME",
    "DatabaseError",
    "JSONTooDeep",
    "NavItem",
    "OmoError",
    "PluginContext",
    "PluginInfo",
    "RunningPlugin",
    "hookimpl",
    "hookspec",
    "is_guild_admin",
    "is_transient",
    "loads_bounded",
    "retrying",
]

hookimpl = pluggy.HookimplMarker("omo")
#: Marks a hook specification: a plugin declares hooks of its own with it (``PluginInfo(hookspecs=module)``).
hookspec = pluggy.HookspecMarker("omo")


@dataclass(frozen=True)
class PluginInfo:
    """What :func:`~core.hookspecs.omo_plugin_info` returns."""

    version: str
    description: str = ""
    requires: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    settings: type[BaseModel] | None = None
    models: str | None = None
    hookspecs: ModuleType | None = None


@dataclass(frozen=True)
class NavItem:
    """One dashboard navigation entry; ``path`` is relative to the plugin's mount point."""

    label: str
    path: str = ""


@dataclass(frozen=True)
class RunningPlugin:
    """A plugin running in this process, as another plugin sees it (:meth:`PluginContext.running_plugins`)."""

    name: str
    info: PluginInfo
    #: The operator's settings defaults from plugins.toml.
    defaults: dict[str, Any]


SettingsT = TypeVar("SettingsT", bound=BaseModel, default=BaseModel)
StateT = TypeVar("StateT", default=Any)
BusHandler = Callable[[dict[str, Any]], Any]


@dataclass(eq=False)
class PluginContext(Generic[SettingsT, StateT]):
    """Handed to every per-plugin hook: the plugin's whole surface.

    Generic over the plugin's settings model and state, so mypy checks their use:
    ``PluginContext[GreeterSettings, GreeterService]`` makes ``await plugin.settings(guild_id)``
    a ``GreeterSettings`` and ``plugin.state`` a ``GreeterService``. Everything registered through
    it (jobs, bus subscriptions, hook objects) belongs to this loaded version of the plugin: core
    undoes it on unload and swaps it on reload.
    """

    name: str
    info: PluginInfo
    runtime: Runtime  # core's: plugins use the methods below, never the runtime itself
    defaults: dict[str, Any] = field(default_factory=dict)
    contributions: Contributions = field(init=False, repr=False)
    _state: Any = field(default=None, init=False, repr=False)
    _has_state: bool = field(default=False, init=False, repr=False)

    # ---------------------------------------------------------------------------- identity
    @property
    def log(self) -> structlog.stdlib.BoundLogger:
        """A logger with ``plugin`` bound."""
        logger: structlog.stdlib.BoundLogger = structlog.get_logger(f"omo.plugins.{self.name}")
        return logger.bind(plugin=self.name)

    @property
    def bot(self) -> commands.AutoShardedBot:
        """The discord.py bot."""
        return self.runtime.bot

    @property
    def state(self) -> StateT:
        """What the plugin's ``omo_state`` hook built for this loaded version (None without that hook)."""
        if not self._has_state:
            raise RuntimeError(f"the state of plugin {self.name!r} is built after omo_plugin_info, before omo_cogs")
        return self._state  # type: ignore[no-any-return]

    def set_state(self, value: Any) -> None:
        """Core's: store what ``omo_state`` built."""
        self._state, self._has_state = value, True

    @property
    def multi_process(self) -> bool:
        """Whether other processes may share this one's database (PostgreSQL): caches must then follow
        the bus (``subscribe``) or the ``omo_settings_changed`` hook, and expire."""
        return bool(self.runtime.env.is_postgres)

    # ------------------------------------------------------------------------------- hooks
    async def call_hook(self, name: str, **kwargs: Any) -> Any:
        """Call hook ``name`` on every plugin implementing it, awaiting async implementations: for a
        first-result hook the first answer that is not None (None when nobody answers), otherwise the
        list of answers that are not None. A broadcast implementation that raises is logged and left out."""
        return await self.runtime.host.hooks.call(name, **kwargs)

    def register(self, obj: object, name: str | None = None) -> None:
        """Register ``obj``'s ``@hookimpl`` methods (broadcast hooks that need this plugin's state).
        Unregistered by core on unload; the new version registers its own on reload."""
        self.contributions.add_hook_object(obj, name)

    # --------------------------------------------------------------------------------- bus
    def subscribe(self, topic: str, handler: BusHandler) -> None:
        """Call ``handler(payload)`` (sync or async) for each :meth:`publish` of ``topic`` by this plugin in
        another process sharing the database. Unsubscribed by core on unload and swapped on reload."""
        self.contributions.add_subscription(self._topic(topic), handler)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` (JSON-able, small) on ``topic`` to this plugin in the other processes."""
        await self.runtime.bus.publish(self._topic(topic), payload)

    def _topic(self, topic: str) -> str:
        return f"{self.name}.{topic}"

    # ---------------------------------------------------------------------- guilds, plugins
    def is_enabled(self, guild_id: int, plugin: str | None = None) -> bool:
        """Whether this plugin (or ``plugin``) is switched on in ``guild_id``."""
        return self.runtime.gate.is_enabled(guild_id, plugin or self.name)

    def guilds_enabled(self) -> list[int]:
        """The bot's guilds where this plugin is switched on."""
        return self.runtime.gate.guilds_enabled(self.name)

    def running_plugins(self) -> list[RunningPlugin]:
        """Every plugin running in this process (this one included), by name."""
        host = self.runtime.host
        return [
            RunningPlugin(name, loaded.info, host.defaults_of(name))
            for name in sorted(host.enabled_names())
            if (loaded := host.loaded(name)) is not None
        ]

    # ---------------------------------------------------------------------------- settings
    async def settings(self, guild_id: int) -> SettingsT:
        """This plugin's settings in ``guild_id``, an instance of its settings model."""
        return await self.runtime.settings.get(guild_id, self.name)  # type: ignore[return-value]

    async def settings_changed(
        self, guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]], actor_id: int | None
    ) -> None:
        """Announce stored settings changes of ``plugin`` in ``guild_id`` (``key -> (old, new)``): the
        ``omo_settings_changed`` hook runs here and in every other process. For settings stores (the
        config plugin)."""
        await self.runtime.settings.announce(guild_id, plugin, changes, actor_id)

    # ------------------------------------------------- background jobs (core/scheduler.py)
    def every(
        self,
        seconds: float,
        job: Callable[..., Awaitable[None]],
        *,
        name: str | None = None,
        per_guild: bool = False,
        initial_delay: float | None = None,
        exclusive: bool = False,
        concurrency: int | None = None,
    ) -> None:
        """Run ``job`` every ``seconds``. With ``per_guild`` it is called as ``job(guild_id)`` once per guild where
        the plugin is enabled (``concurrency`` guilds at a time, default 8). With ``exclusive`` only one process
        attached to the PostgreSQL database runs it (a lease; plain on SQLite). A failing run is logged; the next
        one runs."""
        self.runtime.scheduler.every(
            self.name,
            name or job.__name__,
            seconds,
            job,
            per_guild=per_guild,
            guilds=self.guilds_enabled if per_guild else None,
            ready=self._guilds_known,
            initial_delay=initial_delay,
            exclusive=exclusive,
            concurrency=concurrency,
        )

    def run_forever(
        self, job: Callable[[], Awaitable[None]], *, name: str | None = None, exclusive: bool = False
    ) -> None:
        """Run ``job`` as a long-lived task owned by this plugin (restarted with backoff if it returns or fails).
        With ``exclusive`` it runs in one process only (see :meth:`every`) and is cancelled if that process
        loses the lease."""
        self.runtime.scheduler.run_forever(self.name, name or job.__name__, job, exclusive=exclusive)

    def daily(
        self,
        job: Callable[..., Awaitable[None]],
        *,
        at: str,
        tz: str | None = None,
        name: str | None = None,
        per_guild: bool = False,
        concurrency: int | None = None,
    ) -> None:
        """Run ``job`` every day at ``at`` (``"HH:MM"``, 24-hour) local time: see :meth:`cron` for ``tz`` and
        ``per_guild``."""
        self.cron(daily_expression(at), job, tz=tz, name=name, per_guild=per_guild, concurrency=concurrency)

    def cron(
        self,
        expression: str,
        job: Callable[..., Awaitable[None]],
        *,
        tz: str | None = None,
        name: str | None = None,
        per_guild: bool = False,
        concurrency: int | None = None,
    ) -> None:
        """Run ``job`` at the times of cron ``expression`` (``"*/5 * * * *"``, read by croniter) in time zone
        ``tz`` (an IANA name). With ``per_guild`` it is called as ``job(guild_id)`` for each guild where the
        plugin is enabled, and without ``tz`` each guild's zone is this plugin's ``timezone`` setting (when its
        settings model has that field; UTC otherwise or when the name is unknown). Each fire runs once across
        processes; after downtime that missed fires it runs once, not once per missed fire."""
        self.runtime.scheduler.cron(
            self.name,
            name or job.__name__,
            expression,
            job,
            zone=fixed_zone(zone_named(tz)) if tz is not None else self._guild_zone,
            per_guild=per_guild,
            guilds=self.guilds_enabled if per_guild else None,
            ready=self._guilds_known,
            concurrency=concurrency,
        )

    async def run_now(self, job: Callable[..., Awaitable[None]] | str, *, guild_id: int | None = None) -> None:
        """Run a registered job (the function or its name) at once and wait for it: for ``guild_id``, or for
        every enabled guild of a per-guild job. Its schedule is not touched. Raises what the job raised. For
        tests and for "post now" buttons."""
        await self.runtime.scheduler.run_now(self.name, job if isinstance(job, str) else job.__name__, guild_id)

    async def cancel_job(self, name: str) -> bool:
        """Stop this plugin's job ``name`` (e.g. a cron job of a deleted schedule); whether it was running."""
        return await self.runtime.scheduler.cancel(self.name, name)

    async def _guilds_known(self) -> None:
        await self.runtime.bot.guilds_known.wait()

    async def _guild_zone(self, guild_id: int) -> tzinfo:
        model = self.runtime.settings.model_of(self.name)
        if guild_id == NO_GUILD or model is None or "timezone" not in model.model_fields:
            return UTC
        return setting_zone(guild_id, getattr(await self.settings(guild_id), "timezone", None), plugin=self.name)


def is_guild_admin(interaction: discord.Interaction) -> bool:
    """Whether the user has Manage Server or Administrator in the interaction's guild (the same rule as the
    dashboard's); False in direct messages."""
    perms = getattr(interaction.user, "guild_permissions", None)
    return bool(interaction.guild_id and perms and (perms.manage_guild or perms.administrator))
