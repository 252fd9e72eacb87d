"""A test plugin whose settings use every kind of field the config plugin supports, and a per-guild job."""

from __future__ import annotations

import enum
from datetime import time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands
from pydantic import BaseModel, Field

from core.plugin import PluginContext, PluginInfo, hookimpl

#: (guild_id) of every per-guild job run, for the gating tests.
job_runs: list[int] = []


class Mode(enum.Enum):
    """An Enum setting."""

    QUIET = "quiet"
    LOUD = "loud"


class TypedSettings(BaseModel):
    """One field of each supported kind."""

    greeting: str = Field(default="hello", min_length=1, max_length=20)
    limit: int = Field(default=10, ge=1, le=100, description="How many at most")
    ratio: float = Field(default=0.5, ge=0, le=1)
    active: bool = True
    colour: Literal["red", "green", "blue"] = "red"
    mode: Mode = Mode.QUIET
    post_at: time = time(7, 30)
    every: timedelta = Field(default=timedelta(minutes=5), ge=timedelta(minutes=1), le=timedelta(days=7))
    cooldown: int = Field(default=60, ge=10, le=3600, json_schema_extra={"omo_type": "duration"})
    zone: ZoneInfo = ZoneInfo("UTC")
    digest_time: str = Field(default="08:00", json_schema_extra={"omo_type": "time"})
    channel: int | None = Field(default=None, json_schema_extra={"omo_type": "channel"})
    role: int | None = Field(default=None, json_schema_extra={"omo_type": "role"})
    excluded: list[int] = Field(default_factory=list, max_length=3, json_schema_extra={"omo_type": "channel"})
    tags: list[str] = Field(default_factory=list)


class TypedCog(commands.Cog):
    """``/typed``: shows two settings."""

    def __init__(self, plugin: PluginContext) -> None:
        self.plugin = plugin

    @app_commands.command(name="typed", description="Show typed settings")
    async def typed(self, interaction: discord.Interaction) -> None:
        s = await self.plugin.settings(interaction.guild_id or 0)
        await interaction.response.send_message(f"{s.greeting} {s.limit} {s.channel}")


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="1.0", description="typed settings", settings=TypedSettings)


@hookimpl
def omo_cogs(plugin: PluginContext) -> list[Any]:
    return [TypedCog(plugin)]


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    async def per_guild(guild_id: int) -> None:
        job_runs.append(guild_id)

    plugin.every(0.05, per_guild, name="per_guild", per_guild=True)
