"""What the web admin needs of the runtime it serves: a narrow, typed interface.

:class:`core.runtime.Runtime` satisfies :class:`WebRuntime` structurally (mypy checks it where the
composition point, :mod:`core.compose`, hands ``create_app`` to the runtime). webadmin code types the runtime
as ``WebRuntime`` and uses nothing else of it, so the runtime can change behind this surface, and a web
app can be built for anything that provides it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.bot import OmoBot
    from core.bus import Bus
    from core.environment import Environment
    from core.gate import Gate
    from core.plugin_host import PluginHost
    from core.plugins_file import PluginsFile
    from core.runtime import RunOptions
    from core.scheduler import Scheduler
    from core.web_mount import WebMount


class WebRuntime(Protocol):
    """The runtime as the web admin sees it.

    Read: the environment (OAuth client, secret key, data directory), the run options (the Discord API
    address), plugins.toml (web section, owners) and its last error, the plugin host (records, reload), the
    per-guild switches (gate), the bus (dropping cached sessions in every process), the scheduler's job
    counters (``/metrics``) and the bot (guilds, shards). Written: ``web_mount``, which ``create_app`` sets
    so that the plugin host mounts plugin blueprints on the app.
    """

    web_mount: WebMount | None

    @property
    def env(self) -> Environment:
        """Process configuration (``DISCORD_CLIENT_ID``, ``OMO_SECRET_KEY``, data directory, ...)."""

    @property
    def options(self) -> RunOptions:
        """How the process was started (``discord_api``: the Discord API base URL, e.g. the emulator)."""

    @property
    def plugins_file(self) -> PluginsFile:
        """The plugins.toml in force (``web`` section, owners)."""

    @property
    def plugins_file_path(self) -> Path:
        """Where plugins.toml is read from."""

    @property
    def plugins_file_error(self) -> str | None:
        """Why the last edit of plugins.toml was rejected (None when it was accepted)."""

    @property
    def host(self) -> PluginHost:
        """The plugin host: ``records`` (every known plugin) and ``reload(name)``."""

    @property
    def gate(self) -> Gate:
        """Per-guild plugin switches: ``is_enabled``, ``set_enabled``, ``count_enabled``."""

    @property
    def bus(self) -> Bus:
        """Messages between the processes sharing the database: ``publish``, ``subscribe``, ``unsubscribe``."""

    @property
    def scheduler(self) -> Scheduler:
        """Background jobs: ``runs`` and ``failures`` per plugin job."""

    @property
    def bot(self) -> OmoBot | None:
        """The Discord client (None before start): guilds, shards, application id."""

    @property
    def web_url(self) -> str | None:
        """Where the web app listens (None before it does)."""

    def is_operator(self, user_id: int) -> bool:
        """Whether ``user_id`` is an operator of the bot."""

    async def readiness(self) -> dict[str, Any]:
        """Database and gateway health (``/readyz`` and the operator page)."""
