"""``/config show|set|reset|history|revert|export|import``: the settings of this server's plugins.

Every subcommand checks Manage Server (or Administrator) on the server side, not only through
Discord's ``default_permissions``; autocomplete offers nothing to members without it.
"""

from __future__ import annotations

import io
import json
from typing import Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from core.plugin import JSONTooDeep, is_guild_admin, loads_bounded

from .messages import plain
from .service import (
    Actor,
    Change,
    ConfigContext,
    ConfigService,
    ConfigServiceError,
    HistoryEntry,
    SettingsInvalid,
    UnsupportedSettings,
)
from .settings_types import Directory, FieldSpec, format_value, timezone_names

log = structlog.get_logger("omo.plugins.config")

MAX_IMPORT_BYTES = 256 * 1024
MESSAGE_LIMIT = 1900
DURATION_EXAMPLES = ("30s", "5m", "15m", "1h", "1h30m", "6h", "1d", "2d", "1w")


def directory_of(guild: discord.Guild | None) -> Directory | None:
    """The guild's channels (not categories) and roles (not @everyone) as plain data."""
    if guild is None:
        return None
    return Directory(
        channels=tuple((c.id, c.name) for c in guild.channels if not isinstance(c, discord.CategoryChannel)),
        roles=tuple((r.id, r.name) for r in guild.roles if not r.is_default()),
        known=True,
    )


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n", 1)[0]
    more = text[len(cut) :].count("\n")
    return f"{cut}\n… and {more} more line(s)"


def _code(text: str) -> str:
    shown = text.replace("`", "'")[:200]
    return f"``{shown}``" if shown.startswith("'") or shown.endswith("'") else f"`{shown}`"


def _choice(name: str, value: str) -> app_commands.Choice[str]:
    return app_commands.Choice(name=name[:100], value=value[:100])


class ConfigCog(commands.Cog, name="config"):
    """The ``/config`` command group."""

    def __init__(self, plugin: ConfigContext) -> None:
        self.plugin = plugin
        self.service: ConfigService = plugin.state

    config = app_commands.Group(
        name="config",
        description="See and change this server's plugin settings",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:  # type: ignore[override]
        """Manage Server (or Administrator) is required for every subcommand, checked here on the server."""
        if not is_guild_admin(interaction):
            raise app_commands.CheckFailure("You need the Manage Server permission to see or change settings.")
        return True

    # --------------------------------------------------------------------------- helpers
    def _fmt(self, spec: FieldSpec | None, value: Any) -> str:
        if spec is None:
            return _code(json.dumps(value))
        return (
            format_value(spec, value, mentions=True)
            if spec.kind in ("channel", "role") or (spec.item is not None and spec.item.kind in ("channel", "role"))
            else _code(format_value(spec, value))
        )

    def _change_line(self, change: Change) -> str:
        specs = self._specs(change.plugin)
        spec = specs.get(change.key)
        tail = "" if change.new_overridden else " (default)"
        return (
            f"**{change.plugin}.{change.key}**: {self._fmt(spec, change.old_value)} → "
            f"{self._fmt(spec, change.new_value)}{tail}"
        )

    def _specs(self, plugin: str) -> dict[str, FieldSpec]:
        try:
            return self.service.specs(plugin)
        except ConfigServiceError:
            return {}

    @staticmethod
    def _actor(interaction: discord.Interaction) -> Actor:
        return Actor(interaction.user.id, str(interaction.user))

    @staticmethod
    async def _reply(interaction: discord.Interaction, text: str, **kwargs: Any) -> None:
        if interaction.response.is_done():
            await interaction.followup.send(_clip(text), ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(_clip(text), ephemeral=True, **kwargs)

    async def _refuse(self, interaction: discord.Interaction, exc: ConfigServiceError) -> None:
        if isinstance(exc, SettingsInvalid):
            count = len(exc.errors)
            head = "Nothing was changed: " + (
                "this value was refused." if count == 1 else f"{count} values were refused."
            )
            lines = [
                f"• `{e.plugin}.{e.key}`: {plain(e)}" if e.plugin else f"• `{e.key}`: {plain(e)}" for e in exc.errors
            ]
            await self._reply(interaction, head + "\n" + "\n".join(lines))
        else:
            await self._reply(interaction, str(exc))

    # --------------------------------------------------------------------------- /config show
    @config.command(name="show", description="Show the settings of one plugin or all of them")
    @app_commands.describe(plugin="The plugin (all plugins with settings when empty)")
    async def show(self, interaction: discord.Interaction, plugin: str | None = None) -> None:
        """Effective settings, marking what this server changed."""
        assert interaction.guild_id is not None
        try:
            names = [plugin] if plugin else self.service.plugins_with_settings()
            embed = discord.Embed(title=f"Settings of {plugin}" if plugin else "Settings")
            lines: list[str] = []
            for name in names:
                if not plugin:
                    lines.append(f"__**{name}**__")
                try:
                    view = await self.service.view(interaction.guild_id, name)
                except UnsupportedSettings as exc:
                    if plugin:
                        raise
                    lines.append(str(exc))
                    continue
                for key, spec in view.specs.items():
                    mark = " *(changed here)*" if key in view.overridden else ""
                    lines.append(f"**{key}** = {self._fmt(spec, view.values.get(key))}{mark}")
        except ConfigServiceError as exc:
            await self._refuse(interaction, exc)
            return
        embed.description = _clip("\n".join(lines) or "No plugin here has settings.", 4000)
        embed.set_footer(text="Change one with /config set, undo with /config reset.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    # --------------------------------------------------------------------------- /config set
    @config.command(name="set", description="Change one setting of a plugin")
    @app_commands.describe(plugin="The plugin", key="The setting", value="The new value")
    async def set_(self, interaction: discord.Interaction, plugin: str, key: str, value: str) -> None:
        """Validate and store one value; a refused value names the key, the type and the range."""
        assert interaction.guild_id is not None
        try:
            changes = await self.service.set_values(
                interaction.guild_id,
                plugin,
                {key: value},
                self._actor(interaction),
                source="command",
                text=True,
                directory=directory_of(interaction.guild),
            )
        except ConfigServiceError as exc:
            await self._refuse(interaction, exc)
            return
        if not changes:
            view = await self.service.view(interaction.guild_id, plugin)
            await self._reply(
                interaction,
                f"**{plugin}.{key}** is already "
                f"{self._fmt(view.specs.get(key), view.values.get(key))}; nothing changed.",
            )
            return
        await self._reply(interaction, "Saved. " + "\n".join(self._change_line(c) for c in changes))

    # --------------------------------------------------------------------------- /config reset
    @config.command(name="reset", description="Put one setting (or all of a plugin's) back to the default")
    @app_commands.describe(plugin="The plugin", key="The setting (all of the plugin's when empty)")
    async def reset(self, interaction: discord.Interaction, plugin: str, key: str | None = None) -> None:
        """Remove this server's override(s)."""
        assert interaction.guild_id is not None
        try:
            changes = await self.service.reset(
                interaction.guild_id, plugin, [key] if key else None, self._actor(interaction), source="command"
            )
        except ConfigServiceError as exc:
            await self._refuse(interaction, exc)
            return
        if not changes:
            what = f"**{plugin}.{key}** is" if key else f"The settings of **{plugin}** are"
            await self._reply(interaction, f"{what} already on the default; nothing changed.")
            return
        await self._reply(interaction, "Reset. " + "\n".join(self._change_line(c) for c in changes))

    # --------------------------------------------------------------------------- /config history
    def _history_line(self, entry: HistoryEntry) -> str:
        spec = self._specs(entry.plugin).get(entry.key)
        who = f"<@{entry.actor_id}>" if entry.actor_id else "system"
        when = f"<t:{int(entry.created_at.timestamp())}:R>"
        note = ""
        if entry.reverts_id:
            note = f" (revert of #{entry.reverts_id})"
        if entry.reverted_by:
            note += f" (reverted by #{entry.reverted_by})"
        new = self._fmt(spec, entry.new_value) + ("" if entry.new_overridden else " (default)")
        return (
            f"`#{entry.id}` {when} **{entry.plugin}.{entry.key}** {self._fmt(spec, entry.old_value)} → {new} "
            f"by {who} via {entry.source}{note}"
        )

    @config.command(name="history", description="Recent settings changes in this server")
    @app_commands.describe(plugin="Only this plugin's changes")
    async def history(self, interaction: discord.Interaction, plugin: str | None = None) -> None:
        """The last 15 changes, newest first, with who, when, old and new."""
        assert interaction.guild_id is not None
        entries = await self.service.history(interaction.guild_id, plugin, limit=15)
        embed = discord.Embed(title="Settings history" + (f" of {plugin}" if plugin else ""))
        embed.description = _clip("\n".join(self._history_line(e) for e in entries) or "No changes yet.", 4000)
        embed.set_footer(text="Undo one with /config revert entry:<number>.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @config.command(name="revert", description="Undo one change from /config history")
    @app_commands.describe(entry="The history entry number (#)")
    async def revert(self, interaction: discord.Interaction, entry: app_commands.Range[int, 1]) -> None:
        """Put the entry's key back to its value before that change."""
        assert interaction.guild_id is not None
        try:
            changes = await self.service.revert(interaction.guild_id, entry, self._actor(interaction), source="command")
        except ConfigServiceError as exc:
            await self._refuse(interaction, exc)
            return
        if not changes:
            await self._reply(interaction, f"Entry #{entry} is already undone; nothing changed.")
            return
        await self._reply(interaction, f"Reverted #{entry}. " + "\n".join(self._change_line(c) for c in changes))

    # --------------------------------------------------------------------------- export / import
    @config.command(name="export", description="Download this server's changed settings as JSON")
    async def export(self, interaction: discord.Interaction) -> None:
        """A JSON attachment of every override, readable by /config import."""
        assert interaction.guild_id is not None
        document = await self.service.export(interaction.guild_id)
        data = json.dumps(document, indent=2, sort_keys=True).encode()
        count = sum(len(v) for v in document["plugins"].values())
        await interaction.response.send_message(
            f"{count} changed setting(s) in {len(document['plugins'])} plugin(s).",
            file=discord.File(io.BytesIO(data), filename=f"omo-config-{interaction.guild_id}.json"),
            ephemeral=True,
        )

    @config.command(name="import", description="Load settings from a /config export file (all or nothing)")
    @app_commands.describe(file="A JSON file made by /config export", text="Or paste the JSON here")
    async def import_(
        self, interaction: discord.Interaction, file: discord.Attachment | None = None, text: str | None = None
    ) -> None:
        """Validate the whole file; on any bad value nothing changes and every bad value is listed."""
        assert interaction.guild_id is not None
        if (file is None) == (text is None):
            await self._reply(interaction, "Give either a `file` made by `/config export` or the JSON as `text`.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        raw: bytes | str
        if file is not None:
            if file.size > MAX_IMPORT_BYTES:
                await self._reply(
                    interaction, f"The file is too large ({file.size} bytes; at most {MAX_IMPORT_BYTES})."
                )
                return
            try:
                raw = await file.read()
            except discord.HTTPException as exc:
                await self._reply(interaction, f"Could not download the file ({exc.status}); try again.")
                return
        else:
            raw = text or ""
        try:
            document = loads_bounded(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            if isinstance(exc, JSONTooDeep):
                where = f" (nested more than {exc.max_depth} levels deep)"
            await self._reply(interaction, f"Nothing was changed: the file is not valid JSON{where}.")
            return
        try:
            changes = await self.service.import_settings(
                interaction.guild_id, document, self._actor(interaction), directory=directory_of(interaction.guild)
            )
        except ConfigServiceError as exc:
            await self._refuse(interaction, exc)
            return
        if not changes:
            await self._reply(interaction, "Imported: the settings were already like that; nothing changed.")
            return
        await self._reply(
            interaction, f"Imported {len(changes)} change(s).\n" + "\n".join(self._change_line(c) for c in changes)
        )

    # --------------------------------------------------------------------------- autocomplete
    @show.autocomplete("plugin")
    @set_.autocomplete("plugin")
    @reset.autocomplete("plugin")
    @history.autocomplete("plugin")
    async def plugin_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Running plugins with settings."""
        if not is_guild_admin(interaction):
            return []
        return [_choice(n, n) for n in self.service.plugins_with_settings() if current.lower() in n][:25]

    @set_.autocomplete("key")
    @reset.autocomplete("key")
    async def key_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The chosen plugin's settings, each with its current value and what it expects."""
        if not is_guild_admin(interaction) or interaction.guild_id is None:
            return []
        plugin = str(getattr(interaction.namespace, "plugin", "") or "")
        try:
            view = await self.service.view(interaction.guild_id, plugin)
        except ConfigServiceError:
            return []
        directory = directory_of(interaction.guild)
        out = []
        for key, spec in view.specs.items():
            if current.lower() not in key.lower():
                continue
            shown = format_value(spec, view.values.get(key), directory)
            out.append(_choice(f"{key} = {shown} ({spec.expected()})", key))
        return out[:25]

    @set_.autocomplete("value")
    async def value_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Choices for booleans, enums, channels, roles, timezones and durations (the last list item
        after a comma for lists)."""
        if not is_guild_admin(interaction) or interaction.guild_id is None:
            return []
        plugin = str(getattr(interaction.namespace, "plugin", "") or "")
        key = str(getattr(interaction.namespace, "key", "") or "")
        spec = self._specs(plugin).get(key)
        if spec is None:
            return []
        head, typed = "", current
        target = spec
        if spec.kind == "list" and spec.item is not None:
            target = spec.item
            if "," in current:
                head, typed = current.rsplit(",", 1)
                head += ", "
            typed = typed.strip()
        directory = directory_of(interaction.guild) if target.kind in ("channel", "role") else None
        candidates = self._candidates(target, typed, directory)
        if spec.optional and "none".startswith(typed.lower()):
            candidates.append(("none", "none"))
        return [_choice(head + label, head + value) for label, value in candidates][:25]

    def _candidates(self, spec: FieldSpec, typed: str, directory: Directory | None) -> list[tuple[str, str]]:
        low = typed.lower().lstrip("#@")
        if spec.kind == "bool":
            return [(w, w) for w in ("yes", "no") if w.startswith(low)]
        if spec.kind == "choice":
            return [(str(c), str(c)) for c in spec.choices if low in str(c).lower()]
        if spec.kind in ("channel", "role") and directory is not None:
            sigil = "#" if spec.kind == "channel" else "@"
            entries = directory.entries(spec.kind)
            return [(f"{sigil}{name}", str(ident)) for ident, name in entries if low in name.lower()]
        if spec.kind == "timezone":
            return [(n, n) for n in timezone_names(typed)][:25]
        if spec.kind == "duration":
            out = [(d, d) for d in DURATION_EXAMPLES if d.startswith(low)]
            if typed and not out:
                out = [(typed, typed)]
            return out
        if spec.kind == "time":
            return [(t, t) for t in (f"{h:02d}:00" for h in range(24)) if t.startswith(typed)]
        return []


__all__ = ["ConfigCog", "directory_of"]
