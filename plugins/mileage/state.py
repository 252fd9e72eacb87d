"""The mileage plugin's live state in one runtime: the ledger service, the write buffer, the in-memory cooldowns,
the role reconciler and the rank-card cache; and the earning paths (messages, voice, other plugins' awards).

A guild lives on exactly one shard, so the process that owns it keeps its members' cooldowns in memory; they are
seeded from the ledger (``last_message_at``) the first time the guild is seen after a start.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import structlog

from core.plugin import PluginContext

from .buffer import WriteBuffer
from .cards import CardFigures, render_card
from .levels import Curve, TierRule, level_of
from .roles import Promotion, Reconciler, is_promotion
from .rules import rules_for
from .service import MAX_ADJUST, Applied, Award, MileageError, MileageService, clip
from .settings import MileageSettings

log = structlog.get_logger("omo.plugins.mileage")

SHUTDOWN_FLUSH_SECONDS = 30.0
AVATAR_TIMEOUT = 3.0
#: How often the write buffer and the role reconcile look for work (seconds).
FLUSH_INTERVAL = 0.25
#: How often every guild this process serves is reconciled in full (roles changed while the bot was away).
SWEEP_INTERVAL = 3600.0


def place_of(channel: Any) -> tuple[int | None, int | None, int | None]:
    """``(channel, parent, category)`` of a message's channel: a thread carries its parent channel."""
    if isinstance(channel, discord.Thread):
        parent = channel.parent
        return channel.id, channel.parent_id, getattr(parent, "category_id", None)
    return getattr(channel, "id", None), None, getattr(channel, "category_id", None)


class MileageState:
    """Everything mileage holds in one runtime."""

    def __init__(self, plugin: MileageContext) -> None:
        self.plugin = plugin
        self.service = MileageService()
        self.buffer = WriteBuffer(self.service, on_applied=self.on_applied)
        self.reconciler = Reconciler(self)
        self.rng = random.Random()
        self.closed = False
        self._cooldowns: dict[int, dict[int, float]] = {}
        self._seeding: dict[int, asyncio.Future[None]] = {}
        self._tiers: dict[int, list[TierRule]] = {}
        self._last_channel: dict[tuple[int, int], int] = {}
        self._cards: dict[tuple[int, int], tuple[CardFigures, bytes]] = {}
        self._settings_lookups: dict[int, asyncio.Future[Any]] = {}
        self.earned = 0
        self.handled = 0

    # ------------------------------------------------------------------------------ lookups
    async def settings(self, guild_id: int) -> MileageSettings:
        """The guild's mileage settings. Concurrent callers share one lookup (a burst of messages after a start
        or a settings change reads the settings once, not once per message)."""
        pending = self._settings_lookups.get(guild_id)
        if pending is not None:
            shared: MileageSettings = await asyncio.shield(pending)
            return shared
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._settings_lookups[guild_id] = future
        try:
            settings = await self.plugin.settings(guild_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: each waiter gets it raised
            raise
        else:
            future.set_result(settings)
        finally:
            self._settings_lookups.pop(guild_id, None)
        return settings

    def roles_changed(self, guild_id: int) -> None:
        """Settings that decide tier roles changed: new cards, and a reconcile of the guild."""
        self._cards = {k: v for k, v in self._cards.items() if k[0] != guild_id}
        self.reconciler.mark_guild(guild_id)

    async def curve(self, guild_id: int) -> Curve:
        """The guild's level curve."""
        s = await self.settings(guild_id)
        return Curve(s.level_a, s.level_b, s.level_c)

    async def tiers(self, guild_id: int) -> list[TierRule]:
        """The guild's tiers (cached; changed through :meth:`tiers_changed`)."""
        cached = self._tiers.get(guild_id)
        if cached is None:
            cached = self._tiers[guild_id] = await self.service.tiers(guild_id)
        return cached

    def tiers_changed(self, guild_id: int) -> None:
        """Forget the cached tiers and reconcile the guild's roles."""
        self._tiers.pop(guild_id, None)
        self._cards = {k: v for k, v in self._cards.items() if k[0] != guild_id}
        self.reconciler.mark_guild(guild_id)

    def guild(self, guild_id: int) -> discord.Guild | None:
        """The guild from the bot's cache."""
        bot = self.plugin.bot
        return bot.get_guild(guild_id) if bot is not None else None

    # ------------------------------------------------------------------------------ earning
    async def _seed(self, guild_id: int, cooldown: int) -> None:
        """Load the cooldowns of members who earned within the cooldown window (once per guild and start)."""
        future = self._seeding.get(guild_id)
        if future is None:
            future = self._seeding[guild_id] = asyncio.get_running_loop().create_future()
            try:
                since = datetime.now(UTC) - timedelta(seconds=max(cooldown, 3600))
                seen = await self.service.recent_message_times(guild_id, since)
                cooldowns = self._cooldowns.setdefault(guild_id, {})
                for user_id, at in seen.items():
                    cooldowns[user_id] = max(cooldowns.get(user_id, 0.0), at.timestamp())
                future.set_result(None)
            except Exception as exc:
                del self._seeding[guild_id]
                future.set_exception(exc)
                future.exception()  # retrieved: the next message retries the seeding
                raise
        elif not future.done():
            await asyncio.shield(future)

    async def earn_message(self, message: discord.Message) -> int:
        """Points for a member's message (0 when it earns nothing); queued for writing."""
        try:
            return await self._earn_message(message)
        finally:
            self.handled += 1

    async def _earn_message(self, message: discord.Message) -> int:
        guild = message.guild
        author = message.author
        if guild is None or author.bot or message.webhook_id is not None or not isinstance(author, discord.Member):
            return 0
        settings = await self.settings(guild.id)
        rules = rules_for(settings)
        if len(message.content) < settings.min_message_length:
            return 0
        place = place_of(message.channel)
        role_ids = [r.id for r in author.roles]
        if rules.excluded(author.id, role_ids, place):
            return 0
        if guild.id not in self._seeding or not self._seeding[guild.id].done():
            await self._seed(guild.id, settings.cooldown_seconds)
        # From here to the queueing nothing awaits: concurrent messages of one member see each other's cooldown.
        now = message.created_at.timestamp() if message.created_at else time.time()
        cooldowns = self._cooldowns.setdefault(guild.id, {})
        last = cooldowns.get(author.id)
        if last is not None and now - last < settings.cooldown_seconds and settings.cooldown_seconds > 0:
            return 0
        cooldowns[author.id] = now
        points = rules.message_points(self.rng, role_ids, place)
        self._last_channel[(guild.id, author.id)] = message.channel.id
        award = Award(
            guild.id,
            author.id,
            points,
            "message",
            f"msg:{message.id}",
            "message",
            at=message.created_at or datetime.now(UTC),
            messages=1,
        )
        await self.buffer.put(award)
        self.earned += points
        return points

    async def voice_minute(self) -> None:
        """The voice job (every minute); also forgets cooldowns that are over (a day at most)."""
        await self.voice_tick()
        horizon = time.time() - 86400
        for cooldowns in self._cooldowns.values():
            for user_id in [u for u, at in cooldowns.items() if at < horizon]:
                del cooldowns[user_id]
        if len(self._last_channel) > 200_000:
            self._last_channel.clear()

    async def voice_tick(self, now: float | None = None) -> int:
        """One minute of voice: points to every eligible member in voice (not muted, deafened, alone with bots, AFK,
        or excluded). Returns how many members earned."""
        bot = self.plugin.bot
        if bot is None:
            return 0
        minute = int((now if now is not None else time.time()) // 60)
        count = 0
        for guild in list(bot.guilds):
            if not self.plugin.is_enabled(guild.id):
                continue
            settings = await self.settings(guild.id)
            if settings.voice_points_per_minute <= 0:
                continue
            rules = rules_for(settings)
            afk = guild.afk_channel.id if guild.afk_channel else None
            for channel in [*guild.voice_channels, *guild.stage_channels]:
                if channel.id == afk:
                    continue
                humans = [m for m in channel.members if not m.bot]
                if len(humans) < 2:
                    continue
                place = (channel.id, None, channel.category_id)
                for member in humans:
                    voice = member.voice
                    if voice is None or voice.self_mute or voice.self_deaf or voice.mute or voice.deaf:
                        continue
                    role_ids = [r.id for r in member.roles]
                    if rules.excluded(member.id, role_ids, place):
                        continue
                    points = rules.voice_points(role_ids, place)
                    if points <= 0:
                        continue
                    at = datetime.fromtimestamp(minute * 60, UTC)
                    await self.buffer.put(
                        Award(guild.id, member.id, points, "voice", f"voice:{member.id}:{minute}", "voice", at=at)
                    )
                    count += 1
        return count

    async def award(
        self, guild_id: int, user_id: int, points: int, reason: str, source: str, key: str | None
    ) -> int | None:
        """Points from another plugin (the ``omo_award_points`` hook): written before answering the new total."""
        if not self.plugin.is_enabled(guild_id):
            return None
        if isinstance(points, bool) or not isinstance(points, int) or points == 0 or abs(points) > MAX_ADJUST:
            raise MileageError(f"points must be a whole number from 1 to {MAX_ADJUST:,} (or down to -{MAX_ADJUST:,})")
        raw_key = f"{clip(source, 48)}:{key}" if key else f"{clip(source, 48)}:{time.time_ns()}"
        if len(raw_key) > 120:  # long keys are hashed, never cut (two keys must not collide)
            raw_key = "h:" + hashlib.sha256(raw_key.encode()).hexdigest()
        award = Award(guild_id, user_id, points, "plugin", raw_key, clip(reason), source=clip(source, 48))
        await self.buffer.submit(award)
        return await self.service.total(guild_id, user_id)

    # ------------------------------------------------------------------------------ after writes
    async def on_applied(self, applied: list[Applied]) -> None:
        """Points were written: queue role reconciles and announcements for members whose tier changed."""
        by_guild: dict[int, dict[int, list[int]]] = {}
        for a in applied:
            span = by_guild.setdefault(a.award.guild_id, {}).setdefault(a.award.user_id, [a.old_total, a.new_total])
            span[0], span[1] = min(span[0], a.old_total), a.new_total
            self._cards.pop((a.award.guild_id, a.award.user_id), None)
        for guild_id, members in by_guild.items():
            tiers = await self.tiers(guild_id)
            if not tiers:
                continue
            curve = await self.curve(guild_id)
            changes = self.reconciler.tier_changes(
                guild_id, [(u, old, new) for u, (old, new) in members.items()], tiers, curve
            )
            if not changes:
                continue
            self.reconciler.mark(guild_id, [u for u, _, _ in changes])
            for user_id, old, new in changes:
                if new is not None and is_promotion(tiers, curve, old, new):
                    self.reconciler.announce(
                        Promotion(
                            guild_id,
                            user_id,
                            old.name if old else None,
                            new.name,
                            members[user_id][1],
                            self._last_channel.get((guild_id, user_id)),
                        )
                    )

    async def changed(self, applied: Iterable[Applied]) -> None:
        """Points written outside the buffer (commands): same follow-up as buffered writes."""
        await self.on_applied(list(applied))

    async def announce(self, promotion: Promotion) -> None:
        """Tell the member about a new tier, where the guild's settings say."""
        settings = await self.settings(promotion.guild_id)
        guild = self.guild(promotion.guild_id)
        if settings.announce_mode == "off" or guild is None:
            return
        member = guild.get_member(promotion.user_id)
        if member is None:
            return
        if not (await self.service.notify_of(promotion.guild_id, [member.id]))[member.id]:
            return
        curve = await self.curve(promotion.guild_id)
        text = settings.announce_template.format(
            member=member.mention,
            name=discord.utils.escape_mentions(member.display_name),
            tier=promotion.new,
            old_tier=promotion.old or "none",
            points=f"{promotion.points:,}",
            level=level_of(promotion.points, curve).level,
        )[:2000]
        target: Any = None
        if settings.announce_mode == "dm":
            target = member
        elif settings.announce_mode == "fixed" and settings.announce_channel:
            target = guild.get_channel(settings.announce_channel)
        elif settings.announce_mode == "channel":
            target = guild.get_channel_or_thread(promotion.channel_id) if promotion.channel_id else None
            target = target or guild.system_channel
        if target is None:
            return
        try:
            await target.send(
                text, allowed_mentions=discord.AllowedMentions(users=[member], roles=False, everyone=False)
            )
        except discord.HTTPException as exc:
            log.warning("mileage: announcement not sent", guild_id=guild.id, error=str(exc)[:200])

    # ------------------------------------------------------------------------------ rank card
    async def card(self, figures: CardFigures, avatar: discord.Asset | None, guild_id: int, user_id: int) -> bytes:
        """The member's rank card, drawn off the event loop; the same figures give the cached image."""
        cached = self._cards.get((guild_id, user_id))
        if cached is not None and cached[0] == figures:
            return cached[1]
        data: bytes | None = None
        if avatar is not None:
            try:
                data = await asyncio.wait_for(avatar.read(), AVATAR_TIMEOUT)
            except (discord.HTTPException, TimeoutError, ValueError, OSError) as exc:
                log.info("mileage: avatar unavailable, drawing initials", user_id=user_id, error=str(exc)[:100])
        png = await asyncio.to_thread(render_card, figures, data)
        if len(self._cards) > 2000:
            self._cards.clear()
        self._cards[(guild_id, user_id)] = (figures, png)
        return png

    async def sweep(self) -> None:
        """Queue a full reconcile of every guild of this process that has tiers (a guild lives on one shard, so
        each process sweeps its own guilds; the reconcile itself runs in the reconcile job)."""
        bot = self.plugin.bot
        for guild in list(bot.guilds) if bot is not None else []:
            if self.plugin.is_enabled(guild.id) and await self.tiers(guild.id):
                self.reconciler.mark_guild(guild.id)

    async def settle(self, seconds: float = 5.0) -> None:
        """Write what the buffer holds before an admin operation reads totals (gives up after ``seconds``:
        the held points are still written later)."""
        try:
            await self.buffer.flush(deadline=asyncio.get_running_loop().time() + seconds)
        except Exception as exc:  # noqa: BLE001 - the points stay held and are written later
            log.warning("mileage: held points not written yet", held=len(self.buffer), error=str(exc)[:200])

    # ------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Register the plugin's jobs: the write flusher, the reconcile worker, the voice minute."""
        self.plugin.every(FLUSH_INTERVAL, self.buffer.drain, name="ledger-writer", initial_delay=0)
        self.plugin.every(FLUSH_INTERVAL, self.reconciler.tick, name="role-reconcile", initial_delay=0)
        self.plugin.every(60, self.voice_minute, name="voice-minute", initial_delay=60)
        self.plugin.every(SWEEP_INTERVAL, self.sweep, name="role-sweep", initial_delay=300)

    async def stop(self) -> None:
        """Flush what the buffer holds (the plugin stops: reload, disable, shutdown)."""
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_FLUSH_SECONDS
        try:
            await self.buffer.flush(deadline=deadline)
        finally:
            self.buffer.closed = True
            self.closed = True


#: What mileage's hooks receive: settings typed as :class:`MileageSettings`, state as :class:`MileageState`.
MileageContext = PluginContext[MileageSettings, MileageState]
