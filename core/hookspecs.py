"""Every hook core calls, in one place. Names start with ``omo_``.

A plugin implements the hooks it needs with ``@hookimpl`` in its ``__init__.py``
(broadcast hooks that need the plugin's state also on an object handed to
``plugin.register(obj)``). Every hook may be ``async def`` or return an
awaitable; core awaits it (see :mod:`core.hooks`). Hooks marked *per plugin* are
called on one plugin at a time with its ``PluginContext``; the others are
broadcast to every enabled plugin, and one implementation that raises is logged
with its plugin while the others still run. docs/plugins.md documents each hook
with an example, and a test fails if one is missing there.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from core.plugin import hookspec

if TYPE_CHECKING:
    from discord.ext import commands
    from pydantic import BaseModel
    from quart import Blueprint

    from core.plugin import NavItem, PluginContext, PluginInfo


@hookspec
def omo_plugin_info() -> PluginInfo:  # type: ignore[empty-body]
    """*Per plugin, required.* Describe the plugin: version, description, the
    plugins it requires, the gateway intents it needs, its settings model and
    its Tortoise models module.

    Called when the plugin is imported (load and reload), before anything else.
    Returns a :class:`core.plugin.PluginInfo`.
    """


@hookspec
def omo_state(plugin: PluginContext) -> Any:
    """*Per plugin.* Build the plugin's state (its services, caches, clients):
    called once per loaded version, before ``omo_cogs`` and ``omo_blueprint``,
    and again for the new version on reload. The result is ``plugin.state``,
    reachable from cogs, pages, jobs and hooks. Build, don't start: open
    connections and register jobs in ``omo_setup``. May be async.
    """


@hookspec
def omo_setup(plugin: PluginContext) -> Awaitable[None] | None:
    """*Per plugin.* The plugin is starting (at start-up, when enabled at runtime,
    and as the last step of a reload). Register background jobs here with
    ``plugin.every(...)`` / ``plugin.run_forever(...)``, bus subscriptions with
    ``plugin.subscribe(...)`` and extra hook objects with ``plugin.register(...)``;
    core undoes exactly these on unload and swaps them on reload. Raising
    aborts the start: the plugin is marked failed (or, on reload, the old
    version stays live).
    """


@hookspec
def omo_teardown(plugin: PluginContext) -> Awaitable[None] | None:
    """*Per plugin.* The plugin is stopping (unload, reload, shutdown). Its jobs
    are already cancelled; release anything else it holds. Errors are logged
    and do not stop the unload.
    """


@hookspec
def omo_cogs(plugin: PluginContext) -> list[commands.Cog]:  # type: ignore[empty-body]
    """*Per plugin.* Return the discord.py cogs (app commands, prefix commands,
    listeners) of this plugin, freshly constructed. Core adds them to the bot,
    gates every command and listener per guild, and swaps them on reload.
    """


@hookspec
def omo_blueprint(plugin: PluginContext) -> Blueprint | Awaitable[Blueprint | None] | None:
    """*Per plugin.* Return a Quart blueprint for the plugin's dashboard pages
    and API. Core mounts it under ``/guilds/<guild_id>/<plugin>/``: every route
    receives ``guild_id``, and core refuses the request when the user may not
    administer that guild or the plugin is disabled there.
    """


@hookspec
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:  # type: ignore[empty-body]
    """*Per plugin.* Dashboard navigation entries for this plugin in ``guild_id``
    (label and path relative to the plugin's mount point). Called only for
    guilds where the plugin is enabled.
    """


@hookspec
def omo_guild_status(plugin: PluginContext, guild_id: int) -> str | Awaitable[str] | None:
    """*Per plugin.* A one-line status for the plugin's card on the guild
    overview page ("3 feeds, last post 5 min ago"). Return None for no status.
    """


@hookspec(firstresult=True)
def omo_resolve_settings(
    guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]
) -> BaseModel | Awaitable[BaseModel] | None:
    """*Broadcast, first result wins.* Resolve the settings of ``plugin`` in
    ``guild_id`` as an instance of ``model``. ``defaults`` are the operator's
    defaults from plugins.toml. The config plugin answers from the database;
    core's own implementation runs last and answers with ``model(**defaults)``.
    Return None (or an awaitable that gives None) to let the next
    implementation answer.
    """


@hookspec
def omo_plugin_toggled(guild_id: int, plugin: str, enabled: bool, actor_id: int | None) -> Awaitable[None] | None:
    """*Broadcast.* ``plugin`` was switched on or off in ``guild_id`` by
    ``actor_id`` (None for the system). Called in every process after the change
    is stored and announced to the other processes, including processes that
    learn of it from another process.
    """


@hookspec
def omo_settings_changed(
    guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]], actor_id: int | None
) -> Awaitable[None] | None:
    """*Broadcast.* The settings of ``plugin`` in ``guild_id`` changed (a
    ``/config`` command, a dashboard form, the API, an import or a revert) by
    ``actor_id`` (None for the system). ``changes`` maps each changed key to
    ``(old, new)`` JSON values. Called in every process after the change is
    stored; ``await plugin.settings(guild_id)`` already answers the new values.
    """


@hookspec(historic=True)
def omo_runtime_started(runtime: Any) -> Awaitable[None] | None:
    """*Broadcast, historic.* The runtime has started (database, web server and
    gateway connection under way). Plugins enabled later still receive this
    call when they are registered, so it is the place to learn of the runtime once.
    """


@hookspec(firstresult=True)
def omo_award_points(
    guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None
) -> int | Awaitable[int | None] | None:
    """*Broadcast, first result wins.* Another plugin awards ``points`` to member
    ``user_id`` in ``guild_id`` (e.g. the dailies plugin's check-in). ``source`` is
    the awarding plugin's name, ``reason`` a short human text and ``key`` an
    idempotency key unique per guild (the same key never awards twice). The
    points plugin (mileage) implements it and returns the member's new total;
    with no points plugin enabled nobody answers and the caller gets None.
    Call it with ``await plugin.call_hook("omo_award_points", ...)``.
    """


@hookspec
def omo_demo_setup(plugin: PluginContext, demo: Any) -> Awaitable[None] | None:
    """*Per plugin.* ``omo demo`` only: the bot is connected to the emulator and
    the demo guild exists; set up this plugin's part of the demo world (settings,
    roles, local feeds...). ``demo`` is :class:`core.demo.DemoWorld` (the
    emulator as ``demo.emulator``, the guild, its members, channels and roles).
    Errors are logged and the demo goes on without this plugin's set-up.
    """


@hookspec(firstresult=True)
def omo_settings_url(guild_id: int, plugin: str) -> str | None:
    """*Broadcast, first result wins.* The dashboard page where a guild admin edits
    ``plugin``'s settings in ``guild_id``, or None. The settings plugin (config)
    answers for every plugin with a settings model while it is on in that guild;
    the overview links each plugin card to it.
    """
