"""What a plugin author imports: ``hookimpl``, ``PluginInfo``, ``NavItem``, ``PluginContext`` and ``is_guild_admin``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
import structlog
from pydantic import BaseModel

from core.scheduler import NO_GUILD, daily_expression, fixed_zone, setting_zone, zone_named

if TYPE_CHECKING:
    import discord
    from discord.ext import commands

    from core.runtime import Runtime

hookimpl = pluggy.HookimplMarker("omo")


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


@dataclass
class PluginContext:
    """Handed to every per-plugin hook: the plugin's view of the runtime."""

    name: str
    info: PluginInfo
    runtime: Runtime
    defaults: dict[str, Any] = field(default_factory=dict)

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
    def hook(self) -> Any:
        """pluggy's hook relay, to call hooks that plugins declared (``plugin.hook.my_hook(...)``)."""
        return self.runtime.host.pm.hook

    async def call_hook(self, name: str, **kwargs: Any) -> Any:
        """Call hook ``name`` on every plugin implementing it and await the answer: the first non-None
        result for a first-result hook (None when nobody answers), otherwise the list of results."""
        caller = getattr(self.runtime.host.pm.hook, name)
        results = caller(**kwargs)
        many = isinstance(results, list)
        answers = []
        for result in results if many else [results]:
            value = await result if inspect.isawaitable(result) else result
            if not many and value is not None:
                return value
            answers.append(value)
        return answers if many else None

    def is_enabled(self, guild_id: int) -> bool:
        """Whether this plugin is switched on in ``guild_id``."""
        return self.runtime.gate.is_enabled(guild_id, self.name)

    async def settings(self, guild_id: int) -> Any:
        """This plugin's settings in ``guild_id`` (an instance of its settings model)."""
        return await self.runtime.settings.get(guild_id, self.name)

    # -- background jobs (core/scheduler.py) ------------------------------------------------------------
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
            guilds=self._enabled_guilds if per_guild else None,
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
            guilds=self._enabled_guilds if per_guild else None,
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

    def _enabled_guilds(self) -> list[int]:
        return self.runtime.gate.guilds_enabled(self.name)

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
