"""Settings of the dailies plugin: per guild (``DailiesSettings``, edited by guild admins through the config
plugin) and per operator (``OperatorSettings``, from ``[plugins.dailies.settings.operator]`` in plugins.toml
only: guild admins never see or change them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .fetch import FetchLimits
from .netguard import AddressPolicy


class DailiesSettings(BaseModel):
    """What a guild's admins tune."""

    timezone: str = Field(
        default="UTC",
        max_length=64,
        description="The server's timezone: digests, scheduled posts and the /daily day follow it",
        json_schema_extra={"omo_type": "timezone"},
    )
    checkin_points: int = Field(default=10, ge=0, le=10_000, description="Points for a /daily check-in")
    checkin_streak_bonus: int = Field(
        default=2, ge=0, le=1_000, description="Extra points per day of streak (capped at 10 days)"
    )
    checkin_grace_days: int = Field(
        default=1, ge=0, le=7, description="Days a member may miss without losing the streak"
    )
    notice_channel: int | None = Field(
        default=None,
        description="Where feed problems are announced (default: the feed's own channel)",
        json_schema_extra={"omo_type": "channel"},
    )


class OperatorSettings(BaseModel):
    """What the operator sets in plugins.toml (``[plugins.dailies.settings.operator]``)."""

    model_config = ConfigDict(extra="forbid")

    allow_networks: list[str] = Field(
        default_factory=list, max_length=100, description="Networks fetched despite the SSRF guard (dev/tests)"
    )
    min_interval: int = Field(default=300, ge=1, le=86_400, description="Shortest poll interval, seconds")
    default_interval: int = Field(default=900, ge=1, le=86_400, description="Poll interval of a new feed, seconds")
    deadline: float = Field(default=15.0, gt=0, le=120, description="Total time for one fetch, seconds")
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    max_decompressed: int = Field(default=20 * 1024 * 1024, ge=1024, le=500 * 1024 * 1024)
    per_host: int = Field(default=2, ge=1, le=50, description="Concurrent requests to one host")
    concurrency: int = Field(default=20, ge=1, le=500, description="Concurrent fetches of the poller")
    max_failures: int = Field(default=11, ge=1, le=100, description="Failures in a row before a feed is disabled")
    per_fetch_cap: int = Field(default=5, ge=1, le=50, description="Items posted per fetch; the rest summarised")
    per_day_cap: int = Field(default=50, ge=1, le=1000, description="Items posted per subscription per day")
    max_subscriptions: int = Field(default=100, ge=1, le=10_000, description="Subscriptions per guild")
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days an item no longer in its feed is remembered (dedupe), at least"
    )
    tick: float = Field(default=5.0, gt=0, le=86_400, description="How often the poller looks for due feeds, seconds")
    youtube_url: str = Field(default="https://www.youtube.com", max_length=200)

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        AddressPolicy(value)  # raises ValueError on a bad network
        return value

    @property
    def policy(self) -> AddressPolicy:
        """The SSRF guard's policy."""
        return AddressPolicy(self.allow_networks)

    @property
    def limits(self) -> FetchLimits:
        """The fetch limits."""
        return FetchLimits(
            deadline=self.deadline,
            max_bytes=self.max_bytes,
            max_decompressed=self.max_decompressed,
            per_host=self.per_host,
        )


def operator_settings(defaults: dict[str, Any]) -> OperatorSettings:
    """The operator's settings out of the plugin's plugins.toml defaults (``operator`` table)."""
    try:
        return OperatorSettings.model_validate(defaults.get("operator") or {})
    except ValidationError as exc:
        raise ValueError(f"[plugins.dailies.settings.operator] is invalid: {exc}") from None
