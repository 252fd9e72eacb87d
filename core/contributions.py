"""What one loaded version of a plugin adds to the running process, in one place.

Hook implementations (the plugin module and the objects it registered), cogs and
which plugin owns them, blueprint routes, bus subscriptions and background jobs
are collected on a :class:`Contributions` and put in place or taken out together:
:meth:`~Contributions.install` and :meth:`~Contributions.uninstall` are the only
code that touches pluggy, the bot, the web mount and the bus for a plugin, so
enable, disable, reload (uninstall the old, install the new) and rollback (the
other way round) are the same two steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import structlog
from discord import app_commands
from discord.ext import commands

from core.errors import PluginError
from core.scheduler import cancel_tasks

if TYPE_CHECKING:
    from core.plugin import BusHandler
    from core.plugin_host import PluginHost
    from core.web_mount import Staged

log = structlog.get_logger("omo.plugin_host")


@dataclass(eq=False)
class Contributions:
    """Everything one loaded version of plugin ``name`` contributes; :meth:`install` / :meth:`uninstall`."""

    name: str
    host: PluginHost
    module: ModuleType
    hookspecs: ModuleType | None = None
    hook_objects: list[tuple[object, str]] = field(default_factory=list)
    cogs: list[commands.Cog] = field(default_factory=list)
    routes: Staged | None = None
    subscriptions: list[tuple[str, BusHandler]] = field(default_factory=list)
    installed: bool = False
    _replays: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _commands_digest: str | None = field(default=None, repr=False)

    def commands_digest(self, tree: app_commands.CommandTree[Any]) -> str:
        """SHA-256 of this version's app commands as Discord receives them (computed once): a reload whose
        new version has the same digest as the old one leaves the synced commands as they are."""
        if self._commands_digest is None:
            payload = sorted(
                (command.to_dict(tree) for cog in self.cogs for command in cog.get_app_commands()),
                key=lambda c: (c.get("type", 1), c["name"]),
            )
            raw = json.dumps(payload, sort_keys=True, default=str)
            self._commands_digest = hashlib.sha256(raw.encode()).hexdigest()
        return self._commands_digest

    # ------------------------------------------------------------------ collecting
    def add_hook_object(self, obj: object, name: str | None = None) -> None:
        """Register ``obj``'s hook implementations with this version (at once if it is live)."""
        if any(o is obj for o, _ in self.hook_objects):
            return
        pm = self.host.pm
        unknown = [
            attr
            for attr in dir(obj)
            if attr.startswith("omo_")
            and pm.parse_hookimpl_opts(obj, attr) is not None
            and getattr(getattr(pm.hook, attr, None), "spec", None) is None
        ]
        if unknown:
            raise PluginError(self.name, f"{type(obj).__name__} implements unknown hook(s) {', '.join(unknown)}")
        label = f"{self.name}:{name or type(obj).__name__}:{len(self.hook_objects)}"
        self.hook_objects.append((obj, label))
        if self.installed:
            self.host.pm.register(obj, name=label)
            task = asyncio.get_running_loop().create_task(self.host.hooks.replay(obj))
            self._replays.add(task)
            task.add_done_callback(self._replays.discard)

    def add_subscription(self, topic: str, handler: BusHandler) -> None:
        """Subscribe ``handler`` to ``topic`` with this version (at once if it is live)."""
        self.subscriptions.append((topic, handler))
        if self.installed:
            self.host.runtime.bus.subscribe(topic, handler)

    # ------------------------------------------------------------------ install
    async def install(self) -> None:
        """Put everything in place: hooks, cogs (with their owner), routes, bus subscriptions.

        Raises on the first step that fails; :meth:`uninstall` then takes out what was put in."""
        host, runtime = self.host, self.host.runtime
        self.installed = True
        host.add_hookspecs(self.hookspecs)
        host.pm.register(self.module, name=self.name)
        for obj, label in self.hook_objects:
            host.pm.register(obj, name=label)
        for cog in self.cogs:
            host.cog_owner[id(cog)] = self.name
            await runtime.bot.add_cog(cog)
        if self.routes is not None and runtime.web_mount is not None:
            runtime.web_mount.swap(self.name, self.routes)
        for topic, handler in self.subscriptions:
            runtime.bus.subscribe(topic, handler)
        for obj in (self.module, *(o for o, _ in self.hook_objects)):
            await host.hooks.replay(obj)

    async def cancel_jobs(self, *, swapping: bool = False) -> None:
        """Cancel the plugin's background jobs (and wait for them). When ``swapping`` (a reload or its
        rollback) this process keeps the jobs' leases: the next version's exclusive jobs renew them."""
        scheduler = self.host.runtime.scheduler
        if swapping:
            await cancel_tasks(scheduler.detach(self.name).values())
        else:
            await scheduler.cancel_plugin(self.name)

    async def uninstall(self, *, swapping: bool = False) -> None:
        """Take everything out; each step is attempted even if another fails. When ``swapping`` (a reload or
        its rollback) the routes stay mounted, for the next version's :meth:`install` replaces them in one
        step, and job leases stay with this process."""
        host, runtime = self.host, self.host.runtime
        self.installed = False
        await self.cancel_jobs(swapping=swapping)
        for task in list(self._replays):
            task.cancel()
        for topic, handler in self.subscriptions:
            runtime.bus.unsubscribe(topic, handler)
        bot = runtime.bot
        for cog in self.cogs:
            if bot is not None and bot.get_cog(cog.qualified_name) is cog:
                try:
                    await bot.remove_cog(cog.qualified_name)
                except Exception:
                    log.exception("removing cog failed", plugin=self.name, cog=cog.qualified_name)
            host.cog_owner.pop(id(cog), None)
        if not swapping and runtime.web_mount is not None:
            try:
                runtime.web_mount.remove(self.name)
            except Exception:
                log.exception("removing routes failed", plugin=self.name)
        for obj in (*(o for o, _ in self.hook_objects), self.module):
            with contextlib.suppress(ValueError):
                if host.pm.is_registered(obj):
                    host.pm.unregister(obj)
