"""``/mileage`` commands and the listeners that earn points (messages; voice is counted by a job each minute).

Members: ``rank``, ``leaderboard``, ``history`` (their own), ``notify``. Admins (Manage Server, checked here on
the server): ``give``, ``take``, ``reverse``, ``reset``, ``tiers list|add|remove``, ``sync-roles``, ``import``,
``export`` and ``history`` of anyone.
"""

from __future__ import annotations

import io
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from core.plugin import is_guild_admin

from .cards import CardFigures
from .levels import Curve, current_tier, level_of, next_tier
from .rules import rules_for
from .service import MAX_ADJUST, Board, MileageError, parse_import
from .state import MileageContext, MileageState, place_of

MAX_IMPORT_BYTES = 5 * 1024 * 1024
PER_PAGE = 10
KIND_ICONS = {
    "message": "💬",
    "voice": "🔊",
    "manual": "✋",
    "reversal": "↩️",
    "import": "📥",
    "reset": "🧹",
    "plugin": "🧩",
}


def _bar(fraction: float, width: int = 12) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "▰" * filled + "▱" * (width - filled)


async def _reply(interaction: discord.Interaction, text: str, **kwargs: Any) -> None:
    text = text[:1990]
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(text, ephemeral=True, **kwargs)


def _require_admin(interaction: discord.Interaction) -> None:
    if not is_guild_admin(interaction):
        raise app_commands.CheckFailure("You need the Manage Server permission for this mileage command.")


def board_embed(board: Board, curve: Curve, guild_name: str) -> discord.Embed:
    """The leaderboard page as an embed."""
    titles = {"all": "all time", "30d": "last 30 days", "7d": "last 7 days"}
    embed = discord.Embed(title=f"Leaderboard of {guild_name} — {titles[board.window]}")
    lines = []
    for row in board.rows:
        level = f" · level {level_of(row.points, curve).level}" if board.window == "all" else ""
        lines.append(f"**#{row.rank}** <@{row.user_id}> — {row.points:,} points{level}")
    embed.description = "\n".join(lines) or "Nobody has points here yet."
    embed.set_footer(text=f"Page {board.page} of {board.pages} · {board.total_members} member(s)")
    return embed


def board_buttons(board: Board) -> discord.ui.View:
    """Previous / next buttons; their ids carry the window and page (they work after a restart too)."""
    view = discord.ui.View(timeout=None)
    for label, page, disabled in (
        ("◀ Previous", board.page - 1, board.page <= 1),
        ("Next ▶", board.page + 1, board.page >= board.pages),
    ):
        view.add_item(
            discord.ui.Button(
                label=label,
                custom_id=f"mileage:lb:{board.window}:{max(1, page)}:{label[0]}",
                disabled=disabled,
                style=discord.ButtonStyle.secondary,
            )
        )
    return view


class MileageCog(commands.Cog, name="mileage"):
    """The ``/mileage`` group and the message listener."""

    def __init__(self, plugin: MileageContext, state: MileageState) -> None:
        self.plugin = plugin
        self.state = state

    mileage = app_commands.Group(name="mileage", description="Points, levels, tiers and leaderboards", guild_only=True)
    tiers = app_commands.Group(name="tiers", description="Tiers that grant roles", parent=mileage)

    # ------------------------------------------------------------------------------ listeners
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Earn points for a message."""
        await self.state.earn_message(message)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Leaderboard page buttons."""
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith("mileage:lb:"):
            return
        parts = custom_id.split(":")
        window = parts[2] if len(parts) > 3 and parts[2] in ("all", "30d", "7d") else "all"
        page = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() and len(parts[3]) < 7 else 1
        if interaction.guild is None:
            return
        _, shown = await self._board(interaction.guild, window, page)
        await interaction.response.edit_message(**shown)

    async def _board(self, guild: discord.Guild, window: str, page: int) -> tuple[Board, dict[str, Any]]:
        """A leaderboard page and the message parts that show it (embed and page buttons)."""
        board = await self.state.service.leaderboard(guild.id, window=window, page=page, per_page=PER_PAGE)
        curve = await self.state.curve(guild.id)
        return board, {"embed": board_embed(board, curve, guild.name), "view": board_buttons(board)}

    # ------------------------------------------------------------------------------ members
    @mileage.command(name="rank", description="Points, level, tier and rank of a member, with a rank card")
    @app_commands.describe(member="Whose rank (yours when empty)")
    async def rank(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        """Embed plus a PNG rank card."""
        assert interaction.guild is not None
        who = member or interaction.user
        if getattr(who, "bot", False):
            await _reply(interaction, "Bots don't earn mileage.")
            return
        await interaction.response.defer(thinking=True)
        guild_id = interaction.guild.id
        settings = await self.state.settings(guild_id)
        curve = Curve(settings.level_a, settings.level_b, settings.level_c)
        standing = await self.state.service.standing(guild_id, who.id)
        tiers = await self.state.tiers(guild_id)
        level = level_of(standing.points, curve)
        tier = current_tier(standing.points, tiers, curve)
        upcoming = next_tier(standing.points, tiers, curve)
        roles = [r.id for r in getattr(who, "roles", [])]
        factor = rules_for(settings).factor(roles, place_of(interaction.channel))
        embed = discord.Embed(title=f"{who.display_name}'s mileage", colour=discord.Colour.blue())
        embed.add_field(name="Points", value=f"{standing.points:,}")
        embed.add_field(name="Rank", value=f"#{standing.rank}")
        embed.add_field(name="Level", value=f"{level.level} ({level.into:,}/{level.needed:,}) {_bar(level.fraction)}")
        embed.add_field(name="Tier", value=tier.name if tier else "none")
        if upcoming is not None:
            missing = upcoming.points_needed(curve) - standing.points
            embed.add_field(name="Next tier", value=f"{upcoming.name} in {missing:,} points")
        embed.add_field(name="Multiplier here", value=f"x{factor:g} (global x role x channel)")
        figures = CardFigures(
            who.display_name,
            level.level,
            standing.rank,
            standing.points,
            level.into,
            level.needed,
            tier.name if tier else None,
            upcoming.name if upcoming else None,
            str(who.display_avatar.key),
        )
        png = await self.state.card(figures, who.display_avatar, guild_id, who.id)
        embed.set_image(url="attachment://rank.png")
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), filename="rank.png"))

    @mileage.command(name="leaderboard", description="The members with the most points")
    @app_commands.describe(page="Page number", window="all time, last 30 days or last 7 days")
    async def leaderboard(
        self,
        interaction: discord.Interaction,
        page: app_commands.Range[int, 1, 100000] = 1,
        window: Literal["all", "30d", "7d"] = "all",
    ) -> None:
        """One page, with buttons to page."""
        assert interaction.guild is not None
        await interaction.response.defer(thinking=True)  # a big server's first windowed board takes a while
        board, shown = await self._board(interaction.guild, window, page)
        if board.rows == [] and page > board.pages:
            await interaction.followup.send(
                f"Page {page} does not exist: the leaderboard has {board.pages} page(s).", ephemeral=True
            )
            return
        await interaction.followup.send(**shown)

    @mileage.command(name="history", description="Recent point changes of a member")
    @app_commands.describe(member="Whose history (yours when empty; others' need Manage Server)")
    async def history(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        """The last 15 ledger events."""
        assert interaction.guild is not None
        who = member or interaction.user
        if who.id != interaction.user.id:
            _require_admin(interaction)
        events = await self.state.service.history(interaction.guild.id, who.id, limit=15)
        reversed_by = await self.state.service.reversed_ids(interaction.guild.id, [e.id for e in events])
        lines = []
        for e in events:
            note = f" (reversed by #{reversed_by[e.id]})" if e.id in reversed_by else ""
            if e.reverses_id:
                note += f" (reverses #{e.reverses_id})"
            by = f" by <@{e.actor_id}>" if e.actor_id else ""
            lines.append(
                f"`#{e.id}` <t:{int(e.created_at.timestamp())}:R> {KIND_ICONS.get(e.kind, '')} {e.kind} "
                f"**{e.points:+,}** {discord.utils.escape_markdown(e.reason)}{by}{note}"
            )
        embed = discord.Embed(title=f"Mileage history of {who.display_name}")
        embed.description = "\n".join(lines)[:4000] or "No points yet."
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @mileage.command(name="notify", description="Turn tier announcements about you on or off")
    async def notify(self, interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        """The per-member opt-out."""
        assert interaction.guild is not None
        await self.state.service.set_notify(interaction.guild.id, interaction.user.id, state == "on")
        await _reply(interaction, f"Tier announcements about you are now **{state}**.")

    # ------------------------------------------------------------------------------ admins
    async def _adjust(self, interaction: discord.Interaction, member: discord.Member, points: int, reason: str) -> None:
        _require_admin(interaction)
        assert interaction.guild is not None
        if member.bot:
            await _reply(interaction, "Bots don't earn mileage.")
            return
        try:
            applied = await self.state.service.adjust(
                interaction.guild.id, member.id, points, actor_id=interaction.user.id, reason=reason
            )
        except MileageError as exc:
            await _reply(interaction, str(exc))
            return
        await self.state.changed([applied])
        verb = "Gave" if points > 0 else "Took"
        await _reply(
            interaction,
            f"{verb} {abs(points):,} points {'to' if points > 0 else 'from'} {member.mention} "
            f"(event #{applied.event_id}); total {applied.new_total:,}.",
        )

    @mileage.command(name="give", description="Give points to a member (admins)")
    @app_commands.describe(member="Who", points="How many", reason="Why (kept in the ledger)")
    async def give(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        points: app_commands.Range[int, 1, MAX_ADJUST],
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        """A manual event with a positive amount."""
        await self._adjust(interaction, member, points, reason)

    @mileage.command(name="take", description="Take points from a member (admins)")
    @app_commands.describe(member="Who", points="How many", reason="Why (kept in the ledger)")
    async def take(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        points: app_commands.Range[int, 1, MAX_ADJUST],
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        """A manual event with a negative amount."""
        await self._adjust(interaction, member, -points, reason)

    @mileage.command(name="reverse", description="Undo one ledger event (admins)")
    @app_commands.describe(event="The event number (#) from /mileage history", reason="Why")
    async def reverse(
        self,
        interaction: discord.Interaction,
        event: app_commands.Range[int, 1, 2**62],
        reason: app_commands.Range[str, 0, 200] = "",
    ) -> None:
        """A reversal event pointing at the event; an event is reversed at most once."""
        _require_admin(interaction)
        assert interaction.guild is not None
        try:
            applied = await self.state.service.reverse(
                interaction.guild.id, event, actor_id=interaction.user.id, reason=reason
            )
        except MileageError as exc:
            await _reply(interaction, str(exc))
            return
        await self.state.changed([applied])
        await _reply(
            interaction,
            f"Reversed event #{event} with event #{applied.event_id} ({applied.award.points:+,} points for "
            f"<@{applied.award.user_id}>, total {applied.new_total:,}).",
        )

    @mileage.command(name="reset", description="Bring a member's points (or everyone's) to zero (admins; reversible)")
    @app_commands.describe(member="The member to reset", everyone="Reset every member of the server instead")
    async def reset(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        everyone: bool = False,
        reason: app_commands.Range[str, 0, 200] = "",
    ) -> None:
        """One ``reset`` event per member, each reversible with ``/mileage reverse``."""
        _require_admin(interaction)
        assert interaction.guild is not None
        if (member is None) == (not everyone):
            await _reply(interaction, "Name a member, or set everyone to True to reset the whole server (not both).")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.state.settle()
        applied = await self.state.service.reset(
            interaction.guild.id,
            None if everyone else [member.id] if member else [],
            actor_id=interaction.user.id,
            reason=reason or "reset",
        )
        await self.state.changed(applied)
        if not applied:
            await _reply(interaction, "Nothing to reset: no points.")
            return
        ids = ", ".join(f"#{a.event_id}" for a in applied[:10]) + (" …" if len(applied) > 10 else "")
        await _reply(
            interaction,
            f"Reset {len(applied)} member(s) ({-sum(a.award.points for a in applied):,} points) with event(s) {ids}. "
            "Undo with /mileage reverse.",
        )

    @tiers.command(name="list", description="The tiers and their roles")
    async def tiers_list(self, interaction: discord.Interaction) -> None:
        """Every tier with its threshold and role."""
        assert interaction.guild is not None
        tiers = await self.state.tiers(interaction.guild.id)
        settings = await self.state.settings(interaction.guild.id)
        problems = self.state.reconciler.problems.get(interaction.guild.id, {})
        lines = []
        for t in tiers:
            role = f"<@&{t.role_id}>" if t.role_id else "no role"
            warn = " ⚠️ " + problems[t.role_id] if t.role_id in problems else ""
            lines.append(f"**{t.name}** at {t.threshold:,} {t.basis} → {role}{warn}")
        embed = discord.Embed(title=f"Tiers ({settings.tier_mode} mode)")
        embed.description = "\n".join(lines)[:4000] or "No tiers yet. Add one with /mileage tiers add."
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @tiers.command(name="add", description="Add (or change) a tier that grants a role (admins)")
    @app_commands.describe(
        name="Tier name", threshold="Points (or level) needed", role="Role granted", basis="points or level"
    )
    async def tiers_add(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 64],
        threshold: app_commands.Range[int, 0, 10**12],
        role: discord.Role,
        basis: Literal["points", "level"] = "points",
    ) -> None:
        """Store the tier and reconcile the server's roles."""
        _require_admin(interaction)
        assert interaction.guild is not None
        if role.is_default() or role.managed:
            await _reply(interaction, f"{role.mention} cannot be a tier role (it is @everyone or managed by an app).")
            return
        try:
            tier = await self.state.service.add_tier(interaction.guild.id, name, threshold, basis, role.id)
        except MileageError as exc:
            await _reply(interaction, str(exc))
            return
        self.state.tiers_changed(interaction.guild.id)
        warn = "" if role.is_assignable() else f"\n⚠️ The bot cannot grant {role.mention}: move its role above it."
        await _reply(
            interaction, f"Tier **{tier.name}** at {tier.threshold:,} {tier.basis} grants {role.mention}.{warn}"
        )

    @tiers.command(name="remove", description="Remove a tier (admins)")
    async def tiers_remove(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 64]) -> None:
        """Delete the tier; its role is taken back by the reconcile."""
        _require_admin(interaction)
        assert interaction.guild is not None
        try:
            tier = await self.state.service.remove_tier(interaction.guild.id, name)
        except MileageError as exc:
            await _reply(interaction, str(exc))
            return
        self.state.tiers_changed(interaction.guild.id)
        await _reply(interaction, f"Removed tier **{tier.name}**. Members keep its role until you remove it by hand.")

    @mileage.command(name="sync-roles", description="Bring every member's tier roles in line with the points (admins)")
    async def sync_roles(self, interaction: discord.Interaction) -> None:
        """Run the reconcile now and report what it did, including roles the bot cannot grant."""
        _require_admin(interaction)
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = interaction.guild
        await self.state.settle()
        report = await self.state.reconciler.sync_guild(guild.id)

        def role_name(role_id: int) -> str:
            role = guild.get_role(role_id)
            return f"@{role.name}" if role else f"role {role_id}"

        await _reply(interaction, report.summary(role_name))

    @mileage.command(name="import", description="Import points: MEE6 leaderboard JSON or CSV member_id,points (admins)")
    @app_commands.describe(file="MEE6's leaderboard JSON (players) or a CSV of member_id,points")
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """All or nothing; the same file twice imports nothing the second time."""
        _require_admin(interaction)
        assert interaction.guild is not None
        if file.size > MAX_IMPORT_BYTES:
            await _reply(interaction, f"The file is {file.size:,} bytes; the limit is {MAX_IMPORT_BYTES:,}.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        content = await file.read()
        if len(content) > MAX_IMPORT_BYTES:
            await _reply(interaction, f"The file is over the {MAX_IMPORT_BYTES:,}-byte limit.")
            return
        curve = await self.state.curve(interaction.guild.id)
        try:
            rows, digest = parse_import(content, curve)
        except MileageError as exc:
            await _reply(interaction, str(exc))
            return
        result = await self.state.service.import_rows(interaction.guild.id, rows, digest, interaction.user.id)
        self.state.tiers_changed(interaction.guild.id)
        text = f"Imported {result.members:,} member(s), {result.points:,} points."
        if result.skipped:
            text += f" {result.skipped:,} member(s) were already imported from this file and were left as they are."
        await _reply(interaction, text)

    @mileage.command(name="export", description="Download every member's points as CSV (admins)")
    async def export(self, interaction: discord.Interaction) -> None:
        """``member_id,points,level``."""
        _require_admin(interaction)
        assert interaction.guild is not None
        await self.state.settle()
        curve = await self.state.curve(interaction.guild.id)
        data = (await self.state.service.export_csv(interaction.guild.id, curve)).encode()
        await interaction.response.send_message(
            "Every member's points:",
            file=discord.File(io.BytesIO(data), filename=f"mileage-{interaction.guild.id}.csv"),
            ephemeral=True,
        )
