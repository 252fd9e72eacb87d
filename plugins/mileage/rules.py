"""Earning rules read from the settings: exclusions, multipliers and message points. Free of Discord types:
callers pass ids (a message's place is ``(channel, parent channel, category)``, threads carry their parent)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .settings import MileageSettings, parse_factors


@dataclass(frozen=True)
class Rules:
    """The settings, pre-digested for the hot path."""

    settings: MileageSettings
    excluded_places: frozenset[int]
    excluded_roles: frozenset[int]
    excluded_members: frozenset[int]
    role_factors: dict[int, float]
    channel_factors: dict[int, float]

    def excluded(self, user_id: int, role_ids: Iterable[int], place: Sequence[int | None]) -> bool:
        """Whether this member, with these roles, in this place, earns nothing."""
        if user_id in self.excluded_members:
            return True
        if any(p in self.excluded_places for p in place if p):
            return True
        return not self.excluded_roles.isdisjoint(role_ids)

    def factor(self, role_ids: Iterable[int], place: Sequence[int | None]) -> float:
        """global x highest role factor x channel factor (the first of channel, parent, category that has one)."""
        role = max((self.role_factors[r] for r in role_ids if r in self.role_factors), default=1.0)
        channel = next((self.channel_factors[p] for p in place if p and p in self.channel_factors), 1.0)
        return self.settings.multiplier * role * channel

    def message_points(self, rng: random.Random, role_ids: Iterable[int], place: Sequence[int | None]) -> int:
        """Points for one earning message: uniform in [min, max], times the multipliers, rounded."""
        s = self.settings
        base = rng.randint(s.message_points_min, s.message_points_max)
        return round(base * self.factor(role_ids, place))

    def voice_points(self, role_ids: Iterable[int], place: Sequence[int | None]) -> int:
        """Points for one minute in voice."""
        return round(self.settings.voice_points_per_minute * self.factor(role_ids, place))


_CACHE: dict[int, Rules] = {}


def rules_for(settings: MileageSettings) -> Rules:
    """The rules of a settings instance (cached by identity: the resolver hands out the same instance until the
    settings change)."""
    cached = _CACHE.get(id(settings))
    if cached is not None and cached.settings is settings:
        return cached
    if len(_CACHE) >= 1024:
        _CACHE.clear()
    rules = _CACHE[id(settings)] = Rules(
        settings,
        frozenset(settings.excluded_channels) | frozenset(settings.excluded_categories),
        frozenset(settings.excluded_roles),
        frozenset(settings.excluded_members),
        parse_factors(settings.role_multipliers),
        parse_factors(settings.channel_multipliers),
    )
    return rules
