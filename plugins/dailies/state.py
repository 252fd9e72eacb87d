"""The dailies plugin's objects for one plugin context, built once on first use (cogs and pages are built
before ``omo_setup``) and closed on teardown. A reload makes a new context, hence new objects; the old
ones are closed by the old context's teardown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.plugin import PluginContext

from .fetch import Fetcher
from .poller import Poller
from .poster import DiscordSender
from .service import DailiesService
from .settings import DailiesSettings, OperatorSettings, operator_settings

_states: dict[int, DailiesState] = {}


class DailiesState:
    """Operator settings, fetcher, service, Discord sender and poller of one plugin context."""

    def __init__(self, plugin: PluginContext) -> None:
        self.plugin = plugin
        self.operator: OperatorSettings = operator_settings(plugin.defaults)
        self.fetcher = Fetcher(self.operator.policy, self.operator.limits)
        self.service = DailiesService(self.operator, self.fetcher)
        self.sender = DiscordSender(plugin.bot)
        self.poller = Poller(self.service, self.sender, self.settings, self.operator.concurrency)
        self.closers: list[Callable[[], Awaitable[None]]] = []

    async def settings(self, guild_id: int) -> DailiesSettings:
        """The guild's dailies settings."""
        settings: DailiesSettings = await self.plugin.settings(guild_id)
        return settings

    async def close(self) -> None:
        """Release the HTTP session and whatever else was registered in ``closers``."""
        for close in self.closers:
            await close()
        await self.fetcher.close()


def state_for(plugin: PluginContext) -> DailiesState:
    """The state of ``plugin`` (built on first use)."""
    state = _states.get(id(plugin))
    if state is None or state.plugin is not plugin:
        state = _states[id(plugin)] = DailiesState(plugin)
    return state


async def drop(plugin: PluginContext) -> None:
    """Close and forget ``plugin``'s state (teardown)."""
    state = _states.get(id(plugin))
    if state is not None and state.plugin is plugin:
        del _states[id(plugin)]
        await state.close()
