"""Core's own tables (Tortoise app ``core``): per-guild plugin state, command sync state,
web sessions, API tokens, job leases and the last runs of scheduled jobs."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class GuildPluginState(Model):
    """Whether a plugin is switched on in a guild; absent rows mean the plugin's guild default."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    plugin = fields.CharField(max_length=48)
    enabled = fields.BooleanField()
    actor_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "omo_guild_plugin"
        unique_together = (("guild_id", "plugin"),)


class CommandSyncState(Model):
    """Digest of the application commands last synced to Discord, per scope (``global`` or a guild id)."""

    scope = fields.CharField(max_length=32, primary_key=True)
    digest = fields.CharField(max_length=64)
    synced_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "omo_command_sync"


class WebSession(Model):
    """A dashboard login. The cookie holds only ``id``; Discord tokens stay here, server-side."""

    id = fields.CharField(max_length=64, primary_key=True)
    user_id = fields.BigIntField(db_index=True)
    username = fields.CharField(max_length=100)
    avatar = fields.CharField(max_length=100, null=True)
    access_token = fields.TextField()
    refresh_token = fields.TextField(null=True)
    expires_at = fields.DatetimeField()
    guilds: fields.Field[list[Any]] = fields.JSONField(default=list)
    guilds_fetched_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "omo_web_session"


class ApiToken(Model):
    """An operator-issued bearer token for scripts; only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "omo_api_token"


class JobLease(Model):
    """Which process runs an exclusive job (``plugin:job``) on PostgreSQL, until when.

    The holder renews ``expires_at``; once it has passed, another process may take the lease over."""

    name = fields.CharField(max_length=160, primary_key=True)
    holder = fields.CharField(max_length=100)
    expires_at = fields.DatetimeField()
    acquired_at = fields.DatetimeField()

    class Meta:
        table = "omo_job_lease"


class JobRun(Model):
    """The last fire time claimed by a daily or cron job, per guild (0 for a job that is not per guild)."""

    id = fields.IntField(primary_key=True)
    plugin = fields.CharField(max_length=48)
    job = fields.CharField(max_length=100)
    guild_id = fields.BigIntField()
    #: Cron expression and time zone followed; a changed one starts from its next fire.
    schedule = fields.CharField(max_length=200, default="")
    last_fire = fields.DatetimeField()
    ran_at = fields.DatetimeField()

    class Meta:
        table = "omo_job_run"
        unique_together = (("plugin", "job", "guild_id"),)
