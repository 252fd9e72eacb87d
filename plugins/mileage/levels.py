"""Levels from points and tiers from levels or points: pure functions, no database, no Discord.

The curve: going from level ``L`` to ``L + 1`` costs ``a·L² + b·L + c`` points (MEE6: a=5, b=50, c=100), so the
points needed to reach level ``L`` from zero are ``a·(L-1)L(2L-1)/6 + b·(L-1)L/2 + c·L``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_LEVEL = 1 << 40


@dataclass(frozen=True)
class Curve:
    """The level curve's coefficients."""

    a: int = 5
    b: int = 50
    c: int = 100

    def step(self, level: int) -> int:
        """Points from ``level`` to ``level + 1``."""
        return self.a * level * level + self.b * level + self.c

    def total(self, level: int) -> int:
        """Points needed to reach ``level`` from zero."""
        n = level
        return self.a * (n - 1) * n * (2 * n - 1) // 6 + self.b * (n - 1) * n // 2 + self.c * n


@dataclass(frozen=True)
class LevelInfo:
    """Where a total stands: the level, points into it, and the points that level needs."""

    level: int
    into: int
    needed: int

    @property
    def fraction(self) -> float:
        """Progress to the next level, 0..1."""
        return min(1.0, self.into / self.needed) if self.needed else 1.0


def level_of(points: int, curve: Curve) -> LevelInfo:
    """The level a total gives (negative totals are level 0)."""
    points = max(0, points)
    low, high = 0, MAX_LEVEL
    while low < high:  # the highest level whose total is <= points
        mid = (low + high + 1) // 2
        if curve.total(mid) <= points:
            low = mid
        else:
            high = mid - 1
    return LevelInfo(low, points - curve.total(low), curve.step(low))


@dataclass(frozen=True)
class TierRule:
    """A tier as the level logic needs it."""

    id: int
    name: str
    basis: str
    threshold: int
    role_id: int | None

    def points_needed(self, curve: Curve) -> int:
        """The total at which this tier is reached (levels converted through the curve)."""
        return curve.total(self.threshold) if self.basis == "level" else self.threshold


def ordered(tiers: Iterable[TierRule], curve: Curve) -> list[TierRule]:
    """Tiers from the lowest to the highest (by the points each needs, then name)."""
    return sorted(tiers, key=lambda t: (t.points_needed(curve), t.name))


def reached(points: int, tiers: Sequence[TierRule], curve: Curve) -> list[TierRule]:
    """Tiers a total has reached, lowest first."""
    return [t for t in ordered(tiers, curve) if points >= t.points_needed(curve)]


def current_tier(points: int, tiers: Sequence[TierRule], curve: Curve) -> TierRule | None:
    """The highest tier reached, or None."""
    got = reached(points, tiers, curve)
    return got[-1] if got else None


def next_tier(points: int, tiers: Sequence[TierRule], curve: Curve) -> TierRule | None:
    """The lowest tier not reached yet, or None."""
    for tier in ordered(tiers, curve):
        if points < tier.points_needed(curve):
            return tier
    return None


def desired_roles(points: int, tiers: Sequence[TierRule], curve: Curve, mode: str) -> set[int]:
    """Tier roles a member with ``points`` should hold: every reached tier's (stack) or the highest's (replace)."""
    got = [t for t in reached(points, tiers, curve) if t.role_id]
    if mode == "replace":
        return {got[-1].role_id} if got and got[-1].role_id else set()
    return {t.role_id for t in got if t.role_id}


def managed_roles(tiers: Iterable[TierRule]) -> set[int]:
    """Every role some tier grants (the only roles the reconcile adds or removes)."""
    return {t.role_id for t in tiers if t.role_id}
