"""Tortoise models of the config plugin (app ``config``): stored overrides and their history."""

from __future__ import annotations

import json
from typing import Any

from tortoise import fields
from tortoise.models import Model


class GuildSettings(Model):
    """The keys a guild overrode for one plugin (only those: defaults stay in code and plugins.toml)."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    plugin = fields.CharField(max_length=48)
    values: dict[str, Any] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "config_guild_settings"
        unique_together = (("guild_id", "plugin"),)


class SettingChange(Model):
    """One change of one key: who, when, old -> new (JSON text). ``reverts`` points at the entry it undid."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    plugin = fields.CharField(max_length=48)
    key = fields.CharField(max_length=100)
    old_json = fields.TextField()
    old_overridden = fields.BooleanField(default=False)
    new_json = fields.TextField()
    new_overridden = fields.BooleanField(default=False)
    actor_id = fields.BigIntField(null=True)
    actor_name = fields.CharField(max_length=100, null=True)
    source = fields.CharField(max_length=16, default="command")
    reverts_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "config_setting_change"
        indexes = (("guild_id", "plugin", "id"), ("guild_id", "id"))

    @property
    def old_value(self) -> Any:
        """The value before the change."""
        return json.loads(self.old_json)

    @property
    def new_value(self) -> Any:
        """The value after the change."""
        return json.loads(self.new_json)
