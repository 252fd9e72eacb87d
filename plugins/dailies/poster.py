"""The Discord side of posting: channels, threads and webhooks (with their own name and avatar)."""

from __future__ import annotations

from typing import Any

import discord
import structlog

from .parse import FeedItem
from .render import Post
from .service import Target

log = structlog.get_logger("omo.plugins.dailies")
HISTORY = 50
NO_PINGS = discord.AllowedMentions.none()


class DiscordSender:
    """Implements :class:`.service.Sender` with the bot's client."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def _channel(self, channel_id: int) -> Any:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(channel_id)
        return channel

    async def send(self, target: Target, post: Post) -> int:
        """Send ``post`` to the target; the message id."""
        embed = discord.Embed.from_dict(post.embed) if post.embed else discord.utils.MISSING
        content = post.content or discord.utils.MISSING
        if target.webhook_id and target.webhook_token:
            hook = discord.Webhook.partial(target.webhook_id, target.webhook_token, client=self.bot)
            channel = self.bot.get_channel(target.channel_id)
            thread = discord.Object(target.channel_id) if isinstance(channel, discord.Thread) else discord.utils.MISSING
            message = await hook.send(
                content=content,
                embed=embed,
                username=target.webhook_name or discord.utils.MISSING,
                avatar_url=target.webhook_avatar or discord.utils.MISSING,
                allowed_mentions=NO_PINGS,
                thread=thread,
                wait=True,
            )
            return int(message.id)
        channel = await self._channel(target.channel_id)
        message = await channel.send(content=content, embed=embed, allowed_mentions=NO_PINGS)
        return int(message.id)

    async def seen(self, target: Target, item: FeedItem) -> bool | None:
        """Whether one of the target's last messages shows ``item`` (its link or its title); None if unreadable."""
        try:
            channel = await self._channel(target.channel_id)
            async for message in channel.history(limit=HISTORY):
                if _shows(message, item):
                    return True
        except (discord.Forbidden, discord.NotFound, discord.HTTPException):
            return None
        return False

    async def notice(self, guild_id: int, channel_id: int | None, text: str) -> None:
        """Tell the guild (best effort: a failure is logged)."""
        if channel_id is None:
            return
        try:
            channel = await self._channel(channel_id)
            await channel.send(text[:2000], allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("could not post a dailies notice", guild_id=guild_id, channel_id=channel_id, error=str(exc))


def _shows(message: Any, item: FeedItem) -> bool:
    for needle in (item.link, item.title):
        if not needle:
            continue
        if needle in (message.content or ""):
            return True
        for embed in message.embeds:
            if needle in (embed.url or "", embed.title or "", embed.description or ""):
                return True
    return False
