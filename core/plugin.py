"""What a plugin author imports: ``hookimpl``, ``PluginInfo``, ``NavItem``, ``PluginContext`` and ``is_guild_admin``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
import structlog
from pydantic import BaseModel

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

    def every(
        self,
        seconds: float,
        job: Callable[..., Awaitable[None]],
        *,
        name: str | None = None,
        per_guild: bool = False,
        initial_delay: float | None = None,
    ) -> None:
        """Run ``job`` every ``seconds``. With ``per_guild`` it is called as ``job(guild_id)``
        once per guild where the plugin is enabled. A failing run is logged; the next one runs."""
        self.runtime.scheduler.every(
            self.name,
            name or job.__name__,
            seconds,
            job,
            per_guild=per_guild,
            guilds=(lambda: self.runtime.gate.guilds_enabled(self.name)) if per_guild else None,
            initial_delay=initial_delay,
        )

    def run_forever(self, job: Callable[[], Awaitable[None]], *, name: str | None = None) -> None:
        """Run ``job`` as a long-lived task owned by this plugin (restarted with backoff if it fails)."""
        self.runtime.scheduler.run_forever(self.name, name or job.__name__, job)


def is_guild_admin(interaction: discord.Interaction) -> bool:
    """Whether the user has Manage Server or Administrator in the interaction's guild (the same rule as the
    dashboard's); False in direct messages."""
    perms = getattr(interaction.user, "guild_permissions", None)
    return bool(interaction.guild_id and perms and (perms.manage_guild or perms.administrator))
