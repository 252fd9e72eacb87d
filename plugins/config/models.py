"""Tortoise models of the config plugin (app ``config``): stored overrides and their history."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class GuildSettings(Model):
    """The keys a guild overrode for one plugin (only those: defaults stay in code and plugins.toml)."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    plugin = fields.CharField(max_length=48)
    values = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "config_guild_settings"
        unique_together = (("guild_id", "plugin"),)


class SettingChange(Model):
    """One change of one key: who, when, old -> new. ``reverts`` points at the entry it undid."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    plugin = fields.CharField(max_length=48)
    key = fields.CharField(max_length=100)
    old_value = fields.JSONField(null=True)
    old_overridden = fields.BooleanField(default=False)
    new_value = fields.JSONField(null=True)
    new_overridden = fields.BooleanField(default=False)
    actor_id = fields.BigIntField(null=True)
    actor_name = fields.CharField(max_length=100, null=True)
    source = fields.CharField(max_length=16, default="command")
    reverts_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "config_setting_change"
        indexes = (("guild_id", "plugin", "id"), ("guild_id", "id"))
