"""The discord.py side: ``OmoBot`` (an ``AutoShardedBot``) and ``OmoTree``.

Core enforces the per-guild plugin switch here, in one place per entry path:
the tree's ``interaction_check`` for app commands, a global check for prefix
and hybrid commands, and :meth:`OmoBot.dispatch` for listeners. While a plugin
is being swapped (reload), commands and events wait at the host's barrier and
are then served by the new version: none is lost or answered "unknown".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from core import interaction_answers

if TYPE_CHECKING:
    from core.runtime import Runtime

log = structlog.get_logger("omo.bot")

DEFAULT_INTENTS = ("guilds", "guild_messages", "members")


class PluginDisabled(commands.CheckFailure, app_commands.CheckFailure):
    """The command's plugin is switched off in this guild."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        super().__init__(
            f"The **{plugin}** plugin is disabled in this server. A server admin can enable it "
            f"with `/plugins enable {plugin}` or from the dashboard."
        )


def guild_id_of(args: tuple[Any, ...]) -> int | None:
    """The guild an event is about, from its first argument (None for DMs and global events)."""
    if not args:
        return None
    first = args[0]
    if isinstance(first, discord.Guild):
        return first.id
    gid = getattr(first, "guild_id", None)
    if isinstance(gid, int):
        return gid
    guild = getattr(first, "guild", None)
    return guild.id if isinstance(guild, discord.Guild) else None


def compute_intents(names: set[str]) -> discord.Intents:
    """Intents for core plus every flag the plugins declare; unknown names raise ValueError."""
    intents = discord.Intents.none()
    for name in {*DEFAULT_INTENTS, *names}:
        flag = getattr(discord.Intents, name, None)
        if not isinstance(flag, discord.flags.flag_value):
            raise ValueError(f"unknown gateway intent {name!r} (see discord.Intents)")
        setattr(intents, name, True)
    return intents


def command_prefix(prefix: str, intents: discord.Intents) -> Any:
    """The prefix and mentions; mentions only without the message-content intent (Discord hides the text)."""
    return commands.when_mentioned_or(prefix) if intents.message_content else commands.when_mentioned


class OmoTree(app_commands.CommandTree["OmoBot"]):
    """Command tree that waits out reload swaps and applies the per-guild gate."""

    def owner_of(self, command: Any) -> str | None:
        """The plugin that owns an app command (through its cog)."""
        host = self.client.runtime.host
        todo: list[Any] = [command] if command is not None else []
        while todo:
            cmd = todo.pop()
            owner = host.owner_of_cog(getattr(cmd, "binding", None))
            if owner:
                return owner
            todo.extend(getattr(cmd, "commands", []))
        return None

    def _lookup(self, interaction: discord.Interaction) -> Any:
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        name = data.get("name")
        if not isinstance(name, str):
            return None
        kind = discord.AppCommandType(data.get("type", 1))
        return self.get_command(name, guild=interaction.guild, type=kind) or self.get_command(name, type=kind)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Wait for any reload swap, bind log context, refuse commands of plugins disabled in the guild."""
        runtime = self.client.runtime
        if not self.client.accepting:  # stopping: refuse, as a closed gateway would
            return False
        current = asyncio.current_task()
        if interaction.type is discord.InteractionType.application_command:
            # answers survive refused callbacks and slow commands (see core.interaction_answers)
            response = interaction_answers.install(interaction)
            if current is not None:
                current.add_done_callback(lambda _task: response.stop_timer())
        if current is not None:  # the tree's invoker task: stop() waits for it like for event handlers
            self.client.track(current)
        await runtime.host.barrier.wait()
        if interaction.type not in (discord.InteractionType.application_command, discord.InteractionType.autocomplete):
            return True
        command = self._lookup(interaction)
        if isinstance(interaction.response, interaction_answers.ResilientResponse):
            interaction.response.auto_defer_ephemeral = not interaction_answers.answer_is_public(command)
        plugin = self.owner_of(command)
        structlog.contextvars.bind_contextvars(
            interaction_id=interaction.id,
            command=getattr(command, "qualified_name", None),
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
            plugin=plugin,
        )
        if plugin is None or interaction.guild_id is None or runtime.gate.is_enabled(interaction.guild_id, plugin):
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(str(PluginDisabled(plugin)), ephemeral=True)
        log.info("command refused: plugin disabled in guild")
        return False

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        """Tell the user what went wrong; log the details."""
        if isinstance(error, app_commands.CheckFailure | app_commands.TransformerError):
            message = str(error) or "You can't use this command here."
        else:
            log.error("app command failed", exc_info=error.__cause__ or error, interaction_id=interaction.id)
            message = f"Something went wrong running this command (error id `{interaction.id}`). It was logged."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True)
            else:
                await interaction.response.send_message(message, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not report command error", interaction_id=interaction.id)


class OmoBot(commands.AutoShardedBot):
    """discord.py bot with omo's gate, barrier and command sync."""

    def __init__(self, runtime: Runtime, *, intents: discord.Intents, **options: Any) -> None:
        # omo never joins voice channels (voice features read VOICE_STATE_UPDATE), so no audio libraries
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=command_prefix(runtime.plugins_file.bot.prefix, intents),
            intents=intents,
            tree_cls=OmoTree,
            help_command=None,
            owner_ids=set(runtime.owners()) or None,
            activity=discord.Game(runtime.plugins_file.bot.status) if runtime.plugins_file.bot.status else None,
            **options,
        )
        self.runtime = runtime
        self._held: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self.accepting = True
        #: set once ``login`` has run (discord.py's readiness state exists only from then on)
        self._logged_in = asyncio.Event()
        #: Set once the gateway delivered the guilds (first READY): per-guild jobs start then.
        self.guilds_known = asyncio.Event()
        self.add_check(self._gate_check)

    @property
    def omo_tree(self) -> OmoTree:
        """The tree, typed."""
        tree = self.tree
        assert isinstance(tree, OmoTree)
        return tree

    async def _gate_check(self, ctx: commands.Context[Any]) -> bool:
        plugin = self.runtime.host.owner_of_cog(ctx.cog)
        if plugin and ctx.guild is not None and not self.runtime.gate.is_enabled(ctx.guild.id, plugin):
            raise PluginDisabled(plugin)
        return True

    # ----------------------------------------------------------------- events
    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """Hold events during a reload swap; run plugin listeners only where the plugin is enabled; drop
        events once the process is stopping."""
        if not self.accepting:
            return
        if not self.runtime.host.barrier.is_open:
            self._held.append((event_name, args, kwargs))
            return
        discord.Client.dispatch(self, event_name, *args, **kwargs)
        ev = "on_" + event_name
        listeners = self.extra_events.get(ev)
        if not listeners:
            return
        host = self.runtime.host
        guild_id: int | bool | None = False
        for func in listeners:
            plugin = host.owner_of_cog(getattr(func, "__self__", None))
            if plugin is None:
                self._schedule_event(func, ev, *args, **kwargs)
                continue
            if guild_id is False:
                guild_id = guild_id_of(args)
            if isinstance(guild_id, int) and not self.runtime.gate.is_enabled(guild_id, plugin):
                continue
            self._schedule_event(self._plugin_listener(func, plugin, guild_id, ev), ev, *args, **kwargs)

    @staticmethod
    def _plugin_listener(
        func: Callable[..., Coroutine[Any, Any, Any]], plugin: str, guild_id: int | bool | None, event: str
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        async def run(*args: Any, **kwargs: Any) -> None:
            with structlog.contextvars.bound_contextvars(
                plugin=plugin, discord_event=event, guild_id=guild_id if isinstance(guild_id, int) else None
            ):
                try:
                    await func(*args, **kwargs)
                except Exception:
                    log.exception("listener failed", listener=getattr(func, "__qualname__", repr(func)))

        return run

    def _schedule_event(  # type: ignore[override]
        self, coro: Callable[..., Coroutine[Any, Any, Any]], event_name: str, *args: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        self.track(task)
        return task

    def stop_accepting(self) -> None:
        """Shutdown: take no new events or app commands (the gateway and HTTP stay up for work in flight)."""
        self.accepting = False

    def track(self, task: asyncio.Task[Any]) -> None:
        """Count ``task`` as work in flight that :meth:`drain` waits for."""
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for running event handlers and commands; return how many were left."""
        pending = {t for t in self._inflight if not t.done() and t is not asyncio.current_task()}
        if pending:
            _done, left = await asyncio.wait(pending, timeout=timeout)
            return len(left)
        return 0

    def release_held(self) -> None:
        """Dispatch the events held during a swap, in order."""
        held, self._held = self._held, []
        for event_name, args, kwargs in held:
            self.dispatch(event_name, *args, **kwargs)

    async def on_command_error(self, ctx: commands.Context[Any], error: commands.CommandError, /) -> None:  # type: ignore[override]
        """Prefix commands: a clear reply for user errors, a log line for bugs (and one if the reply fails)."""
        if isinstance(error, commands.CommandNotFound):
            return
        if isinstance(error, commands.UserInputError | commands.CheckFailure):
            message = str(error)
        else:
            log.error(
                "prefix command failed",
                command=ctx.command and ctx.command.qualified_name,
                exc_info=getattr(error, "original", error),
            )
            message = "Something went wrong running this command. It was logged."
        try:
            await ctx.reply(message, mention_author=False)
        except discord.HTTPException as exc:
            log.warning(
                "could not report command error",
                command=ctx.command and ctx.command.qualified_name,
                status=exc.status,
                reason=exc.text or str(exc),
            )

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Any other unhandled error: log it with context, keep running."""
        log.exception("event handler failed", discord_event=event_method)

    # --------------------------------------------------------------- commands
    def commands_payload(self) -> list[dict[str, Any]]:
        """The global app commands as Discord receives them, sorted by name."""
        payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands()]
        return sorted(payload, key=lambda c: (c.get("type", 1), c["name"]))

    def commands_digest(self) -> str:
        """SHA-256 of :meth:`commands_payload`."""
        raw = json.dumps(self.commands_payload(), sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    async def sync_commands(self, dev_guild: int | None = None) -> bool:
        """Sync app commands with Discord if they changed since the last sync; return whether it synced."""
        from core.models import CommandSyncState

        scope = str(dev_guild) if dev_guild else "global"
        # the application is part of the digest: another application (a new bot, an emulator) has none yet
        digest = hashlib.sha256(f"{self.application_id}:{self.commands_digest()}".encode()).hexdigest()
        stored = await CommandSyncState.get_or_none(scope=scope)
        if stored is not None and stored.digest == digest:
            log.info("app commands unchanged, not synced", scope=scope)
            return False
        started = time.perf_counter()
        if dev_guild:
            guild = discord.Object(id=dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        await CommandSyncState.update_or_create(defaults={"digest": digest}, scope=scope)
        log.info(
            "app commands synced",
            scope=scope,
            commands=len(self.commands_payload()),
            seconds=round(time.perf_counter() - started, 3),
        )
        return True

    async def setup_hook(self) -> None:
        """After login: core commands, then the first sync."""
        self._logged_in.set()
        await self.runtime.on_bot_setup()

    async def on_ready(self) -> None:
        """Log which shards are up; the guild cache is filled, so settle the heap (see RunOptions.freeze_heap)
        and let per-guild jobs start."""
        self.guilds_known.set()
        log.info("gateway ready", user=str(self.user), guilds=len(self.guilds), shards=self.shard_count)
        self.runtime.settle_heap()

    async def wait_ready_or_timeout(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the bot has logged in and the gateway is ready; False on timeout.

        Safe to call before the gateway task has logged in: discord.py's own ``wait_until_ready`` raises
        until ``login`` has run, so this first waits for login (signalled from ``setup_hook``).
        """
        try:
            async with asyncio.timeout(timeout):
                await self._logged_in.wait()
                await self.wait_until_ready()
            return True
        except TimeoutError:
            return False
