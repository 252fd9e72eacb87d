"""``/dailies ...`` (feeds and scheduled posts, for server admins) and ``/daily`` (the check-in, for everyone)."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from core.plugin import is_guild_admin

from .render import Post
from .service import DailiesError, SourceError, Target
from .state import DailiesContext, DailiesState

NOT_ADMIN = "You need the Manage Server permission to manage feeds and scheduled posts."
WEBHOOK_NAME = "omo dailies"
SOURCE_HELP = {
    "blocked": "That address is blocked: feeds must be public http(s) URLs.",
    "unreachable": "That source is unreachable.",
    "timeout": "That source did not answer in time.",
    "too_large": "That source is too large.",
    "http": "That source answered with an HTTP error.",
    "not_a_feed": "That source is not a feed.",
    "bad_source": "That source cannot be used.",
}


def refusal(exc: DailiesError) -> str:
    """The answer to a refused request: for a source, what kind of problem it has, then the details."""
    if isinstance(exc, SourceError):
        return f"❌ {SOURCE_HELP.get(exc.kind, 'That source cannot be used.')}\n{exc}"[:1900]
    return f"❌ {exc}"[:1900]


def _send_kwargs(post: Post) -> dict[str, Any]:
    out: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if post.content:
        out["content"] = post.content
    if post.embed:
        out["embed"] = discord.Embed.from_dict(post.embed)
    return out


def _health(sub: Any) -> str:
    feed = sub.feed
    if not sub.enabled:
        state = f"⏸️ {sub.disabled_reason or 'paused'}"
    elif feed.failures:
        state = f"⚠️ {feed.failures} failure(s): {feed.last_error or ''}"
    else:
        state = "✅ ok"
    last = discord.utils.format_dt(feed.last_success, "R") if feed.last_success else "never"
    nxt = discord.utils.format_dt(feed.next_check, "R") if sub.enabled else "—"
    return f"{state} · last success {last} · next check {nxt} · {sub.items_posted} posted"


class DailiesCog(commands.Cog, name="dailies"):
    """Feed subscriptions, scheduled posts and the daily check-in."""

    def __init__(self, plugin: DailiesContext) -> None:
        self.plugin = plugin

    @property
    def state(self) -> DailiesState:
        """This loaded version's state."""
        return self.plugin.state

    dailies = app_commands.Group(
        name="dailies",
        description="Feeds and scheduled daily posts",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    schedule = app_commands.Group(name="schedule", description="Scheduled daily posts", parent=dailies)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:  # type: ignore[override]
        """Every ``/dailies`` command needs Manage Server, checked here on the server; ``/daily`` is for everyone."""
        command = interaction.command
        name = command.qualified_name if isinstance(command, app_commands.Command) else ""
        if name.split(" ")[0] == "dailies" and not is_guild_admin(interaction):
            raise app_commands.CheckFailure(NOT_ADMIN)
        return True

    # ------------------------------------------------------------------------------------------- feeds
    @dailies.command(name="add", description="Subscribe a channel to a feed or YouTube channel")
    @app_commands.describe(
        source="Feed URL, YouTube channel URL, @handle or channel id",
        channel="Channel or thread to post in",
        mode="instant: each new item; digest: one message a day",
        time="Digest time (HH:MM, the server's timezone)",
        template="Template, e.g. **{{ title }}** {{ link }}",
        embed="Post as an embed (default) or plain text",
        include="Only items with one of these keywords (comma-separated)",
        exclude="Never items with one of these keywords (comma-separated)",
        include_regex="Only items matching this regular expression",
        exclude_regex="Never items matching this regular expression",
        interval="Minutes between checks",
        webhook_name="Post through a webhook with this name",
        webhook_avatar="Avatar URL of the webhook",
        post_latest="Post the newest item right away",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        source: app_commands.Range[str, 1, 500],
        channel: discord.TextChannel | discord.Thread,
        mode: Literal["instant", "digest"] = "instant",
        time: app_commands.Range[str, 1, 5] = "09:00",
        template: app_commands.Range[str, 0, 2000] = "",
        embed: bool = True,
        include: app_commands.Range[str, 0, 1000] = "",
        exclude: app_commands.Range[str, 0, 1000] = "",
        include_regex: app_commands.Range[str, 0, 300] = "",
        exclude_regex: app_commands.Range[str, 0, 300] = "",
        interval: app_commands.Range[int, 1, 10080] | None = None,
        webhook_name: app_commands.Range[str, 1, 80] | None = None,
        webhook_avatar: app_commands.Range[str, 1, 500] | None = None,
        post_latest: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        st = self.state
        target = Target(channel.id)
        try:
            if interval is not None and interval * 60 < st.operator.min_interval:
                raise DailiesError(f"the interval is at least {max(1, st.operator.min_interval // 60)} minute(s)")
            if webhook_avatar and not webhook_avatar.lower().startswith("https://"):
                raise DailiesError("the webhook avatar must be an https:// URL")
            if webhook_name:
                target = await self._webhook_target(channel, webhook_name, webhook_avatar)
            sub = await st.service.add_subscription(
                interaction.guild_id or 0,
                source,
                target,
                mode=mode,
                digest_time=time,
                template=template,
                embed=embed,
                include=include.split(","),
                exclude=exclude.split(","),
                include_regex=include_regex,
                exclude_regex=exclude_regex,
                interval=interval * 60 if interval is not None else None,
                post_latest=post_latest,
                actor_id=interaction.user.id,
            )
        except DailiesError as exc:
            await interaction.followup.send(refusal(exc), ephemeral=True)
            return
        when = f"as a daily digest at {time}" if mode == "digest" else "as soon as they appear"
        await interaction.followup.send(
            f"✅ Subscription #{sub.id}: new items of **{sub.feed.title or source}** go to {channel.mention} {when}. "
            "Items already in the feed are not posted.",
            ephemeral=True,
        )

    async def _webhook_target(self, channel: Any, name: str, avatar: str | None) -> Target:
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, discord.TextChannel):
            raise DailiesError("webhooks can only post in text channels and their threads")
        try:
            hook = await parent.create_webhook(name=WEBHOOK_NAME)
        except discord.Forbidden:
            raise DailiesError(
                "I need the Manage Webhooks permission in that channel to post through a webhook"
            ) from None
        return Target(channel.id, hook.id, hook.token, name, avatar)

    @dailies.command(name="list", description="This server's feed subscriptions and their health")
    async def list_(self, interaction: discord.Interaction) -> None:
        subs = await self.state.service.subscriptions(interaction.guild_id or 0)
        if not subs:
            await interaction.response.send_message("No feed subscriptions yet: `/dailies add`.", ephemeral=True)
            return
        lines = []
        for sub in subs[:25]:
            how = f"digest at {sub.digest_time}" if sub.mode == "digest" else "instant"
            via = f" via webhook “{sub.webhook_name}”" if sub.webhook_id else ""
            lines.append(
                f"**#{sub.id}** {discord.utils.escape_markdown(sub.feed.title or sub.source)} → <#{sub.channel_id}>"
                f"{via} ({how}, every {sub.interval // 60} min)\n{_health(sub)}"
            )
        more = f"\n… and {len(subs) - 25} more on the dashboard" if len(subs) > 25 else ""
        embed = discord.Embed(title="Feed subscriptions", description=("\n".join(lines) + more)[:4000])
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @dailies.command(name="remove", description="Delete a feed subscription")
    async def remove(self, interaction: discord.Interaction, subscription: app_commands.Range[int, 1]) -> None:
        try:
            sub = await self.state.service.remove(interaction.guild_id or 0, subscription)
        except DailiesError as exc:
            await interaction.response.send_message(refusal(exc), ephemeral=True)
            return
        await interaction.response.send_message(f"🗑️ Subscription #{sub.id} ({sub.source}) removed.", ephemeral=True)

    @dailies.command(name="pause", description="Stop posting a subscription for now")
    async def pause(self, interaction: discord.Interaction, subscription: app_commands.Range[int, 1]) -> None:
        await self._toggle(interaction, subscription, False)

    @dailies.command(name="resume", description="Resume a paused or auto-disabled subscription")
    async def resume(self, interaction: discord.Interaction, subscription: app_commands.Range[int, 1]) -> None:
        await self._toggle(interaction, subscription, True)

    async def _toggle(self, interaction: discord.Interaction, sub_id: int, enabled: bool) -> None:
        try:
            sub = await self.state.service.set_enabled(interaction.guild_id or 0, sub_id, enabled)
        except DailiesError as exc:
            await interaction.response.send_message(refusal(exc), ephemeral=True)
            return
        word = "resumed: it is checked again shortly" if enabled else "paused"
        await interaction.response.send_message(f"Subscription #{sub.id} {word}.", ephemeral=True)

    @dailies.command(name="preview", description="Show the newest item of a source rendered with a template")
    async def preview(
        self,
        interaction: discord.Interaction,
        source: app_commands.Range[str, 1, 500],
        template: app_commands.Range[str, 0, 2000] = "",
        embed: bool = True,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            post = await self.state.service.preview(source, template, embed)
        except DailiesError as exc:
            await interaction.followup.send(refusal(exc), ephemeral=True)
            return
        await interaction.followup.send(ephemeral=True, **_send_kwargs(post))

    @dailies.command(name="post-now", description="Post the newest item of a subscription now (a test)")
    async def post_now(self, interaction: discord.Interaction, subscription: app_commands.Range[int, 1]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await self.state.service.post_now(self.state.sender, interaction.guild_id or 0, subscription)
        except DailiesError as exc:
            await interaction.followup.send(refusal(exc), ephemeral=True)
            return
        except discord.HTTPException as exc:
            await interaction.followup.send(f"❌ Discord refused the post: {exc.text or exc.status}", ephemeral=True)
            return
        await interaction.followup.send(f"📨 Posted the newest item of #{subscription}.", ephemeral=True)

    # ------------------------------------------------------------------------------------------- schedules
    @schedule.command(name="add", description="Post a daily message on a cron schedule")
    @app_commands.describe(
        channel="Where to post",
        cron="Cron expression: minute hour day month weekday, e.g. 0 9 * * *",
        timezone="IANA timezone (default: the server's)",
        template="Template; placeholders {{ prompt }}, {{ date }}, {{ weekday }}",
        prompts="Prompts used in rotation, separated by |",
    )
    async def schedule_add(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | discord.Thread,
        cron: app_commands.Range[str, 9, 100],
        timezone: app_commands.Range[str, 1, 64] | None = None,
        template: app_commands.Range[str, 0, 2000] = "",
        prompts: app_commands.Range[str, 0, 4000] = "",
    ) -> None:
        guild_id = interaction.guild_id or 0
        tz = timezone or (await self.state.settings(guild_id)).timezone
        try:
            sched = await self.state.service.add_schedule(
                guild_id, channel.id, cron, tz, template, prompts.split("|"), interaction.user.id
            )
        except DailiesError as exc:
            await interaction.response.send_message(refusal(exc), ephemeral=True)
            return
        await interaction.response.send_message(
            f"🗓️ Scheduled post #{sched.id} in {channel.mention}: `{sched.cron}` ({sched.timezone}), "
            f"next {discord.utils.format_dt(sched.next_run, 'F')}.",
            ephemeral=True,
        )

    @schedule.command(name="list", description="This server's scheduled posts")
    async def schedule_list(self, interaction: discord.Interaction) -> None:
        items = await self.state.service.schedules(interaction.guild_id or 0)
        if not items:
            await interaction.response.send_message("No scheduled posts yet: `/dailies schedule add`.", ephemeral=True)
            return
        lines = [
            f"**#{s.id}** <#{s.channel_id}> `{s.cron}` ({s.timezone}) · {len(s.prompts)} prompt(s) · next "
            f"{discord.utils.format_dt(s.next_run, 'R')}"
            for s in items
        ]
        await interaction.response.send_message(
            embed=discord.Embed(title="Scheduled posts", description="\n".join(lines)[:4000]), ephemeral=True
        )

    @schedule.command(name="remove", description="Delete a scheduled post")
    async def schedule_remove(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        try:
            await self.state.service.remove_schedule(interaction.guild_id or 0, schedule)
        except DailiesError as exc:
            await interaction.response.send_message(refusal(exc), ephemeral=True)
            return
        await interaction.response.send_message(f"🗑️ Scheduled post #{schedule} removed.", ephemeral=True)

    # ------------------------------------------------------------------------------------------- check-in
    @app_commands.command(name="daily", description="Claim your daily check-in, or see the top streaks")
    @app_commands.describe(action="claim (default) or streaks")
    @app_commands.guild_only()
    async def daily(self, interaction: discord.Interaction, action: Literal["claim", "streaks"] = "claim") -> None:
        guild_id = interaction.guild_id or 0
        settings = await self.state.settings(guild_id)
        if action == "streaks":
            top = await self.state.service.top_streaks(guild_id, settings.timezone, settings.checkin_grace_days)
            if not top:
                await interaction.response.send_message("Nobody has a streak yet: be the first with `/daily`!")
                return
            lines = [f"**{i}.** <@{s.user_id}> 🔥 {s.current} (best {s.best})" for i, s in enumerate(top, 1)]
            await interaction.response.send_message(
                embed=discord.Embed(title="Top daily streaks", description="\n".join(lines)),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return
        user_id = interaction.user.id

        async def award(points: int, key: str) -> int | None:
            total: int | None = await self.plugin.call_hook(
                "omo_award_points",
                guild_id=guild_id,
                user_id=user_id,
                points=points,
                reason="daily check-in",
                source=self.plugin.name,
                key=key,
            )
            return total

        result = await self.state.service.checkin(
            guild_id,
            user_id,
            settings.timezone,
            grace_days=settings.checkin_grace_days,
            points=settings.checkin_points,
            bonus=settings.checkin_streak_bonus,
            award=award,
        )
        when = discord.utils.format_dt(result.next_day_at, "R") if result.next_day_at else "tomorrow"
        if not result.claimed:
            await interaction.response.send_message(
                f"You already checked in today. Streak: 🔥 {result.streak}. Next check-in {when}.", ephemeral=True
            )
            return
        points = f" +{result.points} points (total {result.total})." if result.total is not None else ""
        await interaction.response.send_message(
            f"✅ Checked in! Streak: 🔥 **{result.streak}** day{'s' if result.streak != 1 else ''} "
            f"(best {result.best}).{points}"
        )
