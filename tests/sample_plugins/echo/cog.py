from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from core.plugin import PluginContext


class EchoCog(commands.Cog):
    def __init__(self, plugin: PluginContext) -> None:
        self.plugin = plugin
        self.heard: list[str] = []

    @app_commands.command(name="echo", description="Say it back")
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        settings = await self.plugin.settings(interaction.guild_id or 0)
        await interaction.response.send_message(f"{settings.prefix}{text}" * settings.repeat)

    @commands.command(name="shout")
    async def shout(self, ctx: commands.Context, *, text: str) -> None:
        await ctx.send(text.upper())

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.heard.append(message.content)
