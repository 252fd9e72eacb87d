"""Tier roles: one idempotent reconcile from the totals to the members' roles, and tier-change announcements.

Work is queued as "dirty" members (after totals change) or whole guilds (after tiers or settings change, or
``/mileage sync-roles``); one worker drains it member by member, so changes are coalesced and paced by
discord.py's rate-limit handling. A role the bot cannot grant (Discord answers 403, code 50013) is recorded as
a problem of the guild, shown by the command that asked and on the dashboard; the reconcile goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
import structlog

from .levels import Curve, TierRule, current_tier, desired_roles, level_of, managed_roles, ordered

if TYPE_CHECKING:
    from .state import MileageState

log = structlog.get_logger("omo.plugins.mileage")


@dataclass
class SyncReport:
    """What a reconcile did in one guild."""

    added: int = 0
    removed: int = 0
    checked: int = 0
    problems: dict[int, str] = field(default_factory=dict)

    def summary(self, role_name: Callable[[int], str]) -> str:
        """A short text for replies."""
        text = f"Checked {self.checked} member(s): {self.added} role(s) added, {self.removed} removed."
        if self.problems:
            text += "\nProblems:\n" + "\n".join(f"- {role_name(r)}: {why}" for r, why in self.problems.items())
        return text


@dataclass
class Promotion:
    """A member reached a higher tier (to announce)."""

    guild_id: int
    user_id: int
    old: str | None
    new: str
    points: int
    channel_id: int | None


CANNOT_GRANT = (
    "the bot cannot grant or remove this role (Discord answered 403: the bot's highest role must be above it "
    "and the bot needs Manage Roles)"
)


class Reconciler:
    """Brings members' tier roles in line with their totals."""

    def __init__(self, state: MileageState) -> None:
        self.state = state
        self._dirty: dict[int, set[int]] = {}
        self._full: set[int] = set()
        self._promotions: list[Promotion] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._lock = asyncio.Lock()
        self.problems: dict[int, dict[int, str]] = {}

    # ------------------------------------------------------------------------- queueing
    def mark(self, guild_id: int, user_ids: Iterable[int]) -> None:
        """Reconcile these members soon."""
        self._dirty.setdefault(guild_id, set()).update(user_ids)
        self._idle.clear()

    def mark_guild(self, guild_id: int) -> None:
        """Reconcile every member of the guild soon."""
        self._full.add(guild_id)
        self._idle.clear()

    def announce(self, promotion: Promotion) -> None:
        """Announce a promotion soon (after its roles are reconciled)."""
        self._promotions.append(promotion)
        self._idle.clear()

    async def wait_idle(self) -> None:
        """Wait until the queued work is done (tests, shutdown)."""
        await self._idle.wait()

    async def tick(self) -> None:
        """The reconcile job (several times a second): do the queued work, if any."""
        if self._dirty or self._full or self._promotions:
            await self.drain()
        if not (self._dirty or self._full or self._promotions):
            self._idle.set()

    async def drain(self) -> None:
        """Do the queued work once."""
        async with self._lock:
            while self._full or self._dirty:
                if self._full:
                    guild_id = self._full.pop()
                    self._dirty.pop(guild_id, None)
                    await self.sync_guild(guild_id)
                else:
                    guild_id, users = self._dirty.popitem()
                    await self._sync_members(guild_id, users, SyncReport())
            promotions, self._promotions = self._promotions, []
        for promotion in promotions:
            await self.state.announce(promotion)

    # ------------------------------------------------------------------------- the reconcile
    async def sync_guild(self, guild_id: int) -> SyncReport:
        """Reconcile every member who has points or holds a tier role."""
        report = SyncReport()
        guild = self.state.guild(guild_id)
        if guild is None or not self.state.plugin.is_enabled(guild_id):
            return report
        tiers = await self.state.tiers(guild_id)
        managed = managed_roles(tiers)
        users = set((await self.state.service.totals(guild_id)).keys())
        users |= {m.id for m in guild.members if any(r.id in managed for r in m.roles)}
        self.problems[guild_id] = {}
        await self._sync_members(guild_id, users, report)
        return report

    async def _sync_members(self, guild_id: int, users: set[int], report: SyncReport) -> None:
        guild = self.state.guild(guild_id)
        if guild is None or not users:
            return
        tiers = await self.state.tiers(guild_id)
        settings = await self.state.settings(guild_id)
        curve = Curve(settings.level_a, settings.level_b, settings.level_c)
        managed = managed_roles(tiers)
        totals = await self.state.service.totals(guild_id, users)
        problems = self.problems.setdefault(guild_id, {})
        for user_id in sorted(users):
            member = guild.get_member(user_id)
            if member is None or member.bot:
                continue
            report.checked += 1
            want = desired_roles(totals.get(user_id, 0), tiers, curve, settings.tier_mode)
            have = {r.id for r in member.roles if r.id in managed}
            add = [guild.get_role(r) for r in sorted(want - have)]
            remove = [guild.get_role(r) for r in sorted(have - want)]
            for role, adding in [(r, True) for r in add if r] + [(r, False) for r in remove if r]:
                try:
                    if adding:
                        await member.add_roles(role, reason="mileage tier")
                        report.added += 1
                    else:
                        await member.remove_roles(role, reason="mileage tier")
                        report.removed += 1
                    problems.pop(role.id, None)
                except discord.Forbidden:
                    problems[role.id] = CANNOT_GRANT
                    report.problems[role.id] = CANNOT_GRANT
                except discord.NotFound:
                    log.info("mileage: member or role gone during reconcile", guild_id=guild_id, user_id=user_id)
                except discord.HTTPException as exc:
                    report.problems[role.id] = f"Discord answered {exc.status}"
                    log.warning("mileage: role change failed", guild_id=guild_id, role_id=role.id, error=str(exc))

    # ------------------------------------------------------------------------- after writes
    def tier_changes(
        self, guild_id: int, changes: list[tuple[int, int, int]], tiers: list[TierRule], curve: Curve
    ) -> list[tuple[int, TierRule | None, TierRule | None]]:
        """Members whose tier changed: (user, old tier, new tier) from (user, old total, new total)."""
        out = []
        for user_id, old, new in changes:
            before, after = current_tier(old, tiers, curve), current_tier(new, tiers, curve)
            if (before.id if before else None) != (after.id if after else None):
                out.append((user_id, before, after))
        return out


def is_promotion(tiers: list[TierRule], curve: Curve, old: TierRule | None, new: TierRule | None) -> bool:
    """Whether ``new`` is above ``old``."""
    if new is None:
        return False
    if old is None:
        return True
    order = [t.id for t in ordered(tiers, curve)]
    return order.index(new.id) > order.index(old.id)


def level_text(points: int, curve: Curve) -> int:
    """The level of a total (for templates)."""
    return level_of(points, curve).level


def role_problem_rows(state: Any, guild_id: int) -> dict[int, str]:
    """Problems recorded by the last reconcile of a guild (role id -> reason)."""
    return dict(state.reconciler.problems.get(guild_id, {}))
