"""Tortoise models of the mileage plugin (app ``mileage``): the ledger, member totals, daily rollups, tiers."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class LedgerEvent(Model):
    """One change of a member's points; never updated or deleted. ``reverses`` points at the event it undid."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField()
    user_id = fields.BigIntField()
    points = fields.BigIntField()
    kind = fields.CharField(max_length=16)
    reason = fields.CharField(max_length=200, default="")
    source = fields.CharField(max_length=48, default="mileage")
    actor_id = fields.BigIntField(null=True)
    key = fields.CharField(max_length=120, null=True)
    reverses_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "mileage_event"
        unique_together = (("guild_id", "key"), ("guild_id", "reverses_id"))
        indexes = (("guild_id", "user_id", "id"), ("guild_id", "id"))


class MemberTotal(Model):
    """A member's running total, kept in the same transaction as the events that change it."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField()
    user_id = fields.BigIntField()
    points = fields.BigIntField(default=0)
    messages = fields.BigIntField(default=0)
    last_message_at = fields.DatetimeField(null=True)
    notify = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "mileage_member"
        unique_together = (("guild_id", "user_id"),)
        # (guild, points, user) read backwards gives the leaderboard order (points, then user id, descending)
        indexes = (("guild_id", "points", "user_id"), ("guild_id", "last_message_at"))


class DailyRollup(Model):
    """Points a member earned (net) on one UTC day: windowed leaderboards and the chart read these."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField()
    user_id = fields.BigIntField()
    day = fields.DateField()
    points = fields.BigIntField(default=0)

    class Meta:
        table = "mileage_daily"
        unique_together = (("guild_id", "user_id", "day"),)
        indexes = (("guild_id", "day", "user_id"),)


class Tier(Model):
    """A tier: reached at ``threshold`` points (or levels), granting ``role_id``."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField()
    name = fields.CharField(max_length=64)
    basis = fields.CharField(max_length=8, default="points")
    threshold = fields.BigIntField()
    role_id = fields.BigIntField(null=True)

    class Meta:
        table = "mileage_tier"
        unique_together = (("guild_id", "name"),)
        indexes = (("guild_id", "threshold"),)
