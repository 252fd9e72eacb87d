from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from .service import GreeterContext, greeting_text


class GreeterCog(commands.Cog, name="greeter"):
    def __init__(self, plugin: GreeterContext) -> None:
        self.plugin = plugin

    @app_commands.command(name="greet", description="Say hello; the bot counts your greetings")
    @app_commands.guild_only()
    async def greet(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        settings = await self.plugin.settings(interaction.guild_id)  # a GreeterSettings
        count = self.plugin.state.greet(interaction.guild_id, interaction.user.id)
        await interaction.response.send_message(greeting_text(settings, interaction.user.display_name, count))
