"""What the dashboard shows, computed from the runtime: guild lists, plugin cards, operator rows.

Free of HTTP types: pages and the JSON API both render these.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from core.errors import OmoError
from core.plugin_host import PluginState, ReloadReport, call_plugin_hook
from webadmin.discord_oauth import invite_url

if TYPE_CHECKING:
    from core.plugin_host import PluginRecord
    from webadmin.runtime_api import WebRuntime

log = structlog.get_logger("omo.web.dashboard")

#: A plugin's status hook gets this long before the overview gives up on it.
STATUS_TIMEOUT = 2.0


class UnknownPlugin(OmoError):
    """The plugin is not running in this process (so it cannot be switched per guild)."""


@dataclass(frozen=True)
class Link:
    """A navigation link to a plugin page."""

    label: str
    url: str
    plugin: str = ""


@dataclass
class GuildCard:
    """One server in the picker."""

    id: int
    name: str
    icon: str | None
    bot_present: bool
    invite_url: str | None = None

    @property
    def icon_url(self) -> str | None:
        """Discord CDN URL of the icon."""
        return f"https://cdn.discordapp.com/icons/{self.id}/{self.icon}.png?size=64" if self.icon else None

    @property
    def initial(self) -> str:
        """First letters, shown when there is no icon."""
        words = [w for w in self.name.split() if w]
        return "".join(w[0] for w in words[:2]).upper() or "?"


@dataclass
class PluginCard:
    """One plugin on a guild's overview."""

    name: str
    version: str
    description: str
    enabled: bool
    status: str | None
    status_failed: bool = False
    links: list[Link] = field(default_factory=list)


@dataclass
class GuildPicker:
    """The picker: servers to manage, servers to invite the bot to, and (operators) every other server."""

    manage: list[GuildCard]
    invite: list[GuildCard]
    operator_only: list[GuildCard]


def running_plugins(runtime: WebRuntime) -> list[PluginRecord]:
    """Plugins enabled in this process, by name."""
    return [
        r for _, r in sorted(runtime.host.records.items()) if r.state == PluginState.ENABLED and r.loaded is not None
    ]


def guild_picker(runtime: WebRuntime, admin_guilds: list[dict[str, Any]], operator: bool) -> GuildPicker:
    """Split the user's manageable guilds into those with the bot and those without it."""
    bot_guilds = {g.id: g for g in (runtime.bot.guilds if runtime.bot is not None else [])}
    client_id = runtime.env.client_id or (
        str(runtime.bot.application_id) if runtime.bot and runtime.bot.application_id else ""
    )
    manage, invite, seen = [], [], set()
    for entry in admin_guilds:
        try:
            gid = int(entry["id"])
        except (KeyError, TypeError, ValueError):
            continue
        seen.add(gid)
        live = bot_guilds.get(gid)
        name = live.name if live is not None else str(entry.get("name") or gid)
        icon = (live.icon.key if live.icon else None) if live is not None else entry.get("icon")
        if live is not None:
            manage.append(GuildCard(gid, name, icon, True))
        else:
            invite.append(GuildCard(gid, name, icon, False, invite_url(client_id, gid) if client_id else None))
    others = []
    if operator:
        others = [
            GuildCard(g.id, g.name, g.icon.key if g.icon else None, True)
            for g in bot_guilds.values()
            if g.id not in seen
        ]
    key = lambda card: card.name.lower()  # noqa: E731
    return GuildPicker(sorted(manage, key=key), sorted(invite, key=key), sorted(others, key=key))


def guild_card(runtime: WebRuntime, guild_id: int) -> GuildCard | None:
    """The bot's view of ``guild_id`` (None when the bot is not in it)."""
    live = runtime.bot.get_guild(guild_id) if runtime.bot is not None else None
    if live is None:
        return None
    return GuildCard(live.id, live.name, live.icon.key if live.icon else None, True)


def plugin_path(guild_id: int, plugin: str, relative: str = "") -> str:
    """URL of a plugin page in a guild."""
    return f"/guilds/{guild_id}/{plugin}/{relative.lstrip('/')}"


async def nav_links(runtime: WebRuntime, guild_id: int, record: PluginRecord) -> list[Link]:
    """The ``omo_nav_items`` of one plugin for a guild, as links (empty if the hook fails)."""
    assert record.loaded is not None
    try:
        items = await call_plugin_hook(
            record.loaded.module, "omo_nav_items", plugin=record.loaded.context, guild_id=guild_id
        )
    except Exception:
        log.exception("omo_nav_items failed", plugin=record.name, guild_id=guild_id)
        return []
    return [Link(item.label, plugin_path(guild_id, record.name, item.path), record.name) for item in items or []]


async def settings_link(runtime: WebRuntime, guild_id: int, plugin: str) -> Link | None:
    """The ``omo_settings_url`` answer for ``plugin`` in ``guild_id`` as a "Settings" link (None if none)."""
    try:
        url = await runtime.host.hooks.first("omo_settings_url", guild_id=guild_id, plugin=plugin)
    except Exception:
        log.exception("omo_settings_url failed", plugin=plugin, guild_id=guild_id)
        return None
    return Link("Settings", str(url), plugin) if url else None


async def guild_nav(runtime: WebRuntime, guild_id: int) -> list[Link]:
    """Navigation for a guild: the nav items of every plugin switched on there."""
    records = [r for r in running_plugins(runtime) if runtime.gate.is_enabled(guild_id, r.name)]
    groups = await asyncio.gather(*(nav_links(runtime, guild_id, r) for r in records))
    return [link for group in groups for link in group]


async def guild_status(record: PluginRecord, guild_id: int) -> tuple[str | None, bool]:
    """The ``omo_guild_status`` line of a plugin (and whether it failed or took too long)."""
    assert record.loaded is not None
    try:
        async with asyncio.timeout(STATUS_TIMEOUT):
            status = await call_plugin_hook(
                record.loaded.module, "omo_guild_status", plugin=record.loaded.context, guild_id=guild_id
            )
    except Exception:
        log.exception("omo_guild_status failed", plugin=record.name, guild_id=guild_id)
        return "Status unavailable", True
    return (str(status) if status is not None else None), False


async def plugin_cards(runtime: WebRuntime, guild_id: int) -> list[PluginCard]:
    """A card per running plugin with its switch state, status line and links for ``guild_id``."""

    async def card(record: PluginRecord) -> PluginCard:
        assert record.loaded is not None
        enabled = runtime.gate.is_enabled(guild_id, record.name)
        status: str | None = None
        failed = False
        links: list[Link] = []
        if enabled:  # in this task, one after the other: nav items come from memory, and tasks cost more
            status, failed = await guild_status(record, guild_id)
            links = await nav_links(runtime, guild_id, record)
            settings = await settings_link(runtime, guild_id, record.name)
            if settings is not None and all(link.url != settings.url for link in links):
                links.append(settings)
        return PluginCard(
            record.name,
            record.loaded.info.version,
            record.loaded.info.description or "",
            enabled,
            status,
            failed,
            links,
        )

    records = running_plugins(runtime)
    if len(records) == 1:
        return [await card(records[0])]
    return list(await asyncio.gather(*(card(r) for r in records)))


async def switch_plugin(runtime: WebRuntime, guild_id: int, plugin: str, enabled: bool, actor_id: int) -> None:
    """Switch ``plugin`` on or off in ``guild_id``; raises :class:`UnknownPlugin` if it is not running here."""
    if plugin not in {r.name for r in running_plugins(runtime)}:
        raise UnknownPlugin(f"there is no running plugin called {plugin!r}")
    await runtime.gate.set_enabled(guild_id, plugin, enabled, actor_id)


@dataclass
class OperatorRow:
    """One plugin on the operator page."""

    name: str
    version: str | None
    state: str
    error: str | None
    source: str
    module: str
    guilds: int
    reloads: int
    description: str


def operator_rows(runtime: WebRuntime) -> list[OperatorRow]:
    """Every known plugin with version, state, error and how many guilds use it."""
    rows = []
    for name, record in sorted(runtime.host.records.items()):
        running = record.state == PluginState.ENABLED
        rows.append(
            OperatorRow(
                name=name,
                version=record.version,
                state=str(record.state),
                error=record.error,
                source=record.source,
                module=record.module_name,
                guilds=runtime.gate.count_enabled(name) if running else 0,
                reloads=record.reloads,
                description=(record.loaded.info.description or "") if record.loaded else "",
            )
        )
    return rows


@dataclass
class ReloadOutcome:
    """The result of a reload: a report, or the error that kept the old version live."""

    plugin: str
    report: ReloadReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The new version is live."""
        return self.report is not None


async def reload_plugin(runtime: WebRuntime, name: str) -> ReloadOutcome:
    """Reload ``name``; errors (unknown plugin, import error, migration needed) become the outcome's ``error``."""
    try:
        report = await runtime.host.reload(name)
    except OmoError as exc:
        return ReloadOutcome(name, error=str(exc))
    return ReloadOutcome(name, report=report)
