"""Core's own commands: ``/help`` and ``/plugins list|enable|disable|reload``.

They live in core, not in a plugin, so they can never be switched off by the
switch they operate. Permission checks run on the server for every call:
Manage Server for the per-guild switches, operator (bot owner) for reload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from core.errors import OmoError
from core.plugin import is_guild_admin
from core.plugin_host import PluginState

if TYPE_CHECKING:
    from core.runtime import Runtime


class CoreCommands(commands.Cog, name="omo"):
    """Help and plugin switches."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    plugins = app_commands.Group(name="plugins", description="See and switch this server's plugins", guild_only=True)

    async def _plugin_names(self, _interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = sorted(self.runtime.host.records)
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n][:25]

    @app_commands.command(name="help", description="Commands you can use in this server")
    async def help(self, interaction: discord.Interaction) -> None:
        """List commands of the plugins enabled where it is asked."""
        tree = self.runtime.bot.omo_tree
        lines: list[str] = []
        for command in sorted(tree.get_commands(type=discord.AppCommandType.chat_input), key=lambda c: c.name):
            plugin = tree.owner_of(command)
            if plugin and interaction.guild_id and not self.runtime.gate.is_enabled(interaction.guild_id, plugin):
                continue
            subs: list[Any] = list(getattr(command, "walk_commands", lambda: [])())
            leaves = [c for c in subs if not isinstance(c, app_commands.Group)] or [command]
            for leaf in leaves:
                if not self._may_run(interaction, leaf):
                    continue
                label = f"/{leaf.qualified_name}"
                lines.append(f"`{label}` {leaf.description}" + (f" ({plugin})" if plugin else ""))
        embed = discord.Embed(title="Commands you can use here", description="\n".join(lines) or "No commands here.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    def _may_run(self, interaction: discord.Interaction, command: Any) -> bool:
        """Whether the asking user passes ``command``'s permission rule: ``extras["omo_access"]``
        ("operator", or "admin" which operators pass too), else the Discord permissions the command or
        one of its groups declares with ``default_permissions`` (Administrator passes everything)."""
        access = command.extras.get("omo_access")
        operator = self.runtime.is_operator(interaction.user.id)
        if access == "operator":
            return operator
        if access == "admin":
            return operator or is_guild_admin(interaction)
        required: discord.Permissions | None = None
        node = command
        while node is not None and required is None:
            required = node.default_permissions
            node = node.parent
        if not required:
            return True
        held = interaction.permissions
        return held.administrator or required <= held

    @plugins.command(
        name="list", description="Plugins and whether each is on in this server", extras={"omo_access": "admin"}
    )
    async def plugins_list(self, interaction: discord.Interaction) -> None:
        """Every plugin with its process state and its switch in this guild."""
        if not (is_guild_admin(interaction) or self.runtime.is_operator(interaction.user.id)):
            raise app_commands.CheckFailure("You need the Manage Server permission to see the plugin switches.")
        assert interaction.guild_id is not None
        lines = []
        for name, record in sorted(self.runtime.host.records.items()):
            if record.state == PluginState.ENABLED:
                on = self.runtime.gate.is_enabled(interaction.guild_id, name)
                lines.append(f"{'🟢' if on else '⚪'} **{name}** {record.version} — {'on' if on else 'off'} here")
            elif record.state == PluginState.FAILED:
                lines.append(f"🔴 **{name}** — failed: {record.error}")
            else:
                lines.append(f"⚫ **{name}** — {record.state} (not loaded by the operator)")
        await interaction.response.send_message("\n".join(lines) or "No plugins.", ephemeral=True)

    async def _switch(self, interaction: discord.Interaction, plugin: str, enabled: bool) -> None:
        if not is_guild_admin(interaction):
            raise app_commands.CheckFailure("You need the Manage Server permission to switch plugins.")
        assert interaction.guild_id is not None
        if self.runtime.host.loaded(plugin) is None:
            raise app_commands.CheckFailure(f"There is no running plugin named `{plugin}`. See `/plugins list`.")
        word = "enabled" if enabled else "disabled"
        if self.runtime.gate.is_enabled(interaction.guild_id, plugin) == enabled:
            await interaction.response.send_message(
                f"**{plugin}** is already {word} in this server; nothing changed.", ephemeral=True
            )
            return
        await self.runtime.gate.set_enabled(interaction.guild_id, plugin, enabled, interaction.user.id)
        await interaction.response.send_message(f"**{plugin}** is now {word} in this server.", ephemeral=True)

    @plugins.command(name="enable", description="Switch a plugin on in this server")
    @app_commands.describe(plugin="The plugin to switch on")
    @app_commands.default_permissions(manage_guild=True)
    async def plugins_enable(self, interaction: discord.Interaction, plugin: str) -> None:
        """Switch ``plugin`` on here (Manage Server)."""
        await self._switch(interaction, plugin, True)

    @plugins.command(name="disable", description="Switch a plugin off in this server")
    @app_commands.describe(plugin="The plugin to switch off")
    @app_commands.default_permissions(manage_guild=True)
    async def plugins_disable(self, interaction: discord.Interaction, plugin: str) -> None:
        """Switch ``plugin`` off here (Manage Server)."""
        await self._switch(interaction, plugin, False)

    @plugins.command(
        name="reload", description="Reload a plugin's code (bot operators only)", extras={"omo_access": "operator"}
    )
    @app_commands.describe(plugin="The plugin to reload")
    async def plugins_reload(self, interaction: discord.Interaction, plugin: str) -> None:
        """Staged reload of ``plugin`` (operators only)."""
        if not self.runtime.is_operator(interaction.user.id):
            raise app_commands.CheckFailure("Only the bot's operators can reload plugins.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.runtime.host.reload(plugin)
        except OmoError as exc:
            await interaction.followup.send(f"Reload failed, the old version is still running: {exc}", ephemeral=True)
            return
        await interaction.followup.send(
            f"Reloaded **{plugin}** {report.old_version} → {report.new_version} in {report.seconds * 1000:.0f} ms.",
            ephemeral=True,
        )

    plugins_enable.autocomplete("plugin")(_plugin_names)
    plugins_disable.autocomplete("plugin")(_plugin_names)
    plugins_reload.autocomplete("plugin")(_plugin_names)
