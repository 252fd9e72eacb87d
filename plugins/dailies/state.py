"""The dailies plugin's state: what ``omo_state`` builds once per loaded version, reachable as ``plugin.state``
from cogs, pages, jobs and hooks; closed by ``omo_teardown``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.plugin import PluginContext

from .fetch import Fetcher
from .poller import Poller
from .poster import DiscordSender
from .service import DailiesService
from .settings import DailiesSettings, OperatorSettings, operator_settings


class DailiesState:
    """Operator settings, fetcher, service, Discord sender and poller of one loaded version of the plugin."""

    def __init__(self, plugin: PluginContext[DailiesSettings, DailiesState]) -> None:
        self.plugin = plugin
        self.operator: OperatorSettings = operator_settings(plugin.defaults)
        self.fetcher = Fetcher(self.operator.policy, self.operator.limits)
        self.service = DailiesService(self.operator, self.fetcher)
        self.sender = DiscordSender(plugin.bot)
        self.poller = Poller(self.service, self.sender, self.settings, self.operator.concurrency)
        self.closers: list[Callable[[], Awaitable[None]]] = []

    async def settings(self, guild_id: int) -> DailiesSettings:
        """The guild's dailies settings."""
        return await self.plugin.settings(guild_id)

    async def close(self) -> None:
        """Release the HTTP session and whatever else was registered in ``closers``."""
        for close in self.closers:
            await close()
        await self.fetcher.close()


#: What every hook, cog and page of the plugin receives.
DailiesContext = PluginContext[DailiesSettings, DailiesState]
