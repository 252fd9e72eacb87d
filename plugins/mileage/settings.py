"""Per-guild settings of the mileage plugin: every earning rule, the level curve, tiers mode and announcements.

Multipliers stack by multiplication: ``global x role x channel``. The role factor is the highest factor among the
member's roles that have one (1.0 when none has); the channel factor is the message's channel, else its parent
channel (threads), else its category (1.0 when none has one).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

_FACTOR = re.compile(r"^\s*(\d{1,20})\s*[:=]\s*(\d{1,3}(?:\.\d{1,3})?)\s*$")
MAX_FACTOR = 10.0


def parse_factors(items: list[str]) -> dict[int, float]:
    """``["ID:1.5", ...]`` → ``{ID: 1.5}`` (validated by :class:`MileageSettings` already)."""
    out: dict[int, float] = {}
    for item in items:
        match = _FACTOR.match(item)
        if match:
            out[int(match.group(1))] = float(match.group(2))
    return out


def _check_factors(items: list[str]) -> list[str]:
    clean = []
    for item in items:
        match = _FACTOR.match(item)
        if not match:
            raise ValueError(f"{item[:40]!r} is not ID:FACTOR (for example 123456789012345678:1.5)")
        factor = float(match.group(2))
        if not 0 <= factor <= MAX_FACTOR:
            raise ValueError(f"factor {factor} of {match.group(1)} is not between 0 and {MAX_FACTOR:g}")
        clean.append(f"{match.group(1)}:{factor:g}")
    return clean


class MileageSettings(BaseModel):
    """What members earn and how tiers and announcements behave in one server."""

    message_points_min: int = Field(15, ge=0, le=1000, description="Fewest points a message earns")
    message_points_max: int = Field(25, ge=0, le=1000, description="Most points a message earns")
    cooldown_seconds: int = Field(
        60,
        ge=0,
        le=86400,
        description="Time after an earning message during which a member's messages earn nothing",
        json_schema_extra={"omo_type": "duration"},
    )
    min_message_length: int = Field(0, ge=0, le=2000, description="Shorter messages earn nothing")
    excluded_channels: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Channels where nothing is earned (threads follow their parent)",
        json_schema_extra={"omo_type": "channel"},
    )
    excluded_categories: list[int] = Field(
        default_factory=list, max_length=100, description="Category ids whose channels earn nothing"
    )
    excluded_roles: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Members with one of these roles earn nothing",
        json_schema_extra={"omo_type": "role"},
    )
    excluded_members: list[int] = Field(default_factory=list, max_length=500, description="Member ids who earn nothing")
    multiplier: float = Field(1.0, ge=0, le=MAX_FACTOR, description="Global multiplier")
    role_multipliers: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="ROLE_ID:FACTOR items; a member gets the highest of their roles' factors",
    )
    channel_multipliers: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="CHANNEL_ID:FACTOR items (a channel, or a category for all its channels)",
    )
    voice_points_per_minute: int = Field(
        5, ge=0, le=1000, description="Points per minute in voice (not muted, deafened, alone or AFK); 0 = off"
    )
    level_a: int = Field(5, ge=0, le=1000, description="Level curve: a·L² + b·L + c points from level L to L+1")
    level_b: int = Field(50, ge=0, le=10000, description="Level curve coefficient b")
    level_c: int = Field(100, ge=1, le=1000000, description="Level curve coefficient c")
    tier_mode: Literal["stack", "replace"] = Field(
        "stack", description="stack: keep every reached tier's role; replace: only the highest tier's role"
    )
    announce_mode: Literal["off", "channel", "dm", "fixed"] = Field(
        "channel", description="Where tier changes are announced: off, the same channel, DM, or a fixed channel"
    )
    announce_channel: int | None = Field(
        None, description="The fixed announcement channel", json_schema_extra={"omo_type": "channel"}
    )
    announce_template: str = Field(
        "{member} reached the **{tier}** tier with {points} points!",
        min_length=1,
        max_length=500,
        description="Placeholders: {member} {name} {tier} {old_tier} {points} {level}",
    )

    @field_validator("role_multipliers", "channel_multipliers")
    @classmethod
    def _factors(cls, value: list[str]) -> list[str]:
        return _check_factors(value)

    @field_validator("announce_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
            raise ValueError("control characters are not allowed")
        try:
            value.format(member="m", name="n", tier="t", old_tier="o", points=1, level=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown placeholder or bad braces: {exc}") from None
        return value

    @model_validator(mode="after")
    def _range(self) -> MileageSettings:
        if self.message_points_min > self.message_points_max:
            raise ValueError("message_points_min must not be above message_points_max")
        return self
