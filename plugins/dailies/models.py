"""Tortoise models of the dailies plugin (app ``dailies``). Timestamps are UTC."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Feed(Model):
    """One fetched URL, shared by every subscription to it: validators, schedule, health and the poll lease."""

    id = fields.IntField(primary_key=True)
    url_hash = fields.CharField(max_length=64, unique=True)
    url = fields.TextField()
    title = fields.CharField(max_length=256, default="")
    etag = fields.CharField(max_length=512, null=True)
    last_modified = fields.CharField(max_length=128, null=True)
    interval = fields.IntField(default=900)
    next_check = fields.DatetimeField(db_index=True)
    failures = fields.IntField(default=0)
    last_success = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    last_error_at = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "dailies_feed"


class Subscription(Model):
    """A guild's subscription to a feed: where, how and what to post."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField(db_index=True)
    feed: fields.ForeignKeyRelation[Feed] = fields.ForeignKeyField(
        "dailies.Feed", related_name="subscriptions", on_delete=fields.RESTRICT
    )
    feed_id: int
    source = fields.CharField(max_length=500)
    channel_id = fields.BigIntField()
    webhook_id = fields.BigIntField(null=True)
    webhook_token = fields.CharField(max_length=200, null=True)
    webhook_name = fields.CharField(max_length=80, null=True)
    webhook_avatar = fields.CharField(max_length=500, null=True)
    mode = fields.CharField(max_length=8, default="instant")
    digest_time = fields.CharField(max_length=5, default="09:00")
    last_digest_day = fields.CharField(max_length=10, null=True)
    template = fields.TextField(default="")
    embed = fields.BooleanField(default=True)
    include_words: list[str] = fields.JSONField(default=list)
    exclude_words: list[str] = fields.JSONField(default=list)
    include_regex = fields.CharField(max_length=300, default="")
    exclude_regex = fields.CharField(max_length=300, default="")
    interval = fields.IntField(default=900)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=300, null=True)
    primed = fields.BooleanField(default=False)
    items_posted = fields.IntField(default=0)
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dailies_subscription"
        indexes = (("feed_id", "enabled"),)


class Entry(Model):
    """One item of one subscription: pending (claimed, to post), posting, posted, skipped or failed."""

    id = fields.BigIntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[Subscription] = fields.ForeignKeyField(
        "dailies.Subscription", related_name="entries", on_delete=fields.CASCADE
    )
    subscription_id: int
    key = fields.CharField(max_length=40)
    status = fields.CharField(max_length=8, default="pending")
    item: dict[str, Any] = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_at = fields.DatetimeField(null=True)
    posted_at = fields.DatetimeField(null=True)
    message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dailies_entry"
        unique_together = (("subscription_id", "key"),)
        indexes = (("status", "subscription_id"), ("subscription_id", "posted_at"))


class Schedule(Model):
    """A scheduled daily post: cron expression in a timezone, a template, prompts in rotation."""

    id = fields.IntField(primary_key=True)
    guild_id = fields.BigIntField(db_index=True)
    channel_id = fields.BigIntField()
    cron = fields.CharField(max_length=100)
    timezone = fields.CharField(max_length=64, default="UTC")
    template = fields.TextField()
    prompts: list[str] = fields.JSONField(default=list)
    next_prompt = fields.IntField(default=0)
    next_run = fields.DatetimeField(db_index=True)
    last_run = fields.DatetimeField(null=True)
    enabled = fields.BooleanField(default=True)
    created_by = fields.BigIntField(null=True)

    class Meta:
        table = "dailies_schedule"


class Checkin(Model):
    """One /daily claim: a member, a guild day (in the guild's timezone)."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField()
    user_id = fields.BigIntField()
    day = fields.CharField(max_length=10)
    streak = fields.IntField()
    points = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dailies_checkin"
        unique_together = (("guild_id", "user_id", "day"),)


class Streak(Model):
    """A member's check-in streak in a guild."""

    id = fields.BigIntField(primary_key=True)
    guild_id = fields.BigIntField()
    user_id = fields.BigIntField()
    current = fields.IntField(default=0)
    best = fields.IntField(default=0)
    total = fields.IntField(default=0)
    last_day = fields.CharField(max_length=10)

    class Meta:
        table = "dailies_streak"
        unique_together = (("guild_id", "user_id"),)
        indexes = (("guild_id", "current"),)
