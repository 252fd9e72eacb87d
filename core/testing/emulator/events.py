"""Gateway events that follow from changes to the world, with Discord's intent rules applied."""

from __future__ import annotations

from typing import Any

from . import payloads
from .gateway import Gateway
from .state import Channel, ChannelType, Guild, Member, Message, Role, VoiceState, World


class Events:
    """Turns world changes into DISPATCHes on the right shards for the right intents."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway

    # -- messages --------------------------------------------------------------------------------------

    def _message_intent(self, msg: Message) -> int:
        return payloads.INTENT_GUILD_MESSAGES if msg.guild_id is not None else payloads.INTENT_DIRECT_MESSAGES

    def _content_visible(self, msg: Message, intents: int) -> bool:
        """Discord's MESSAGE_CONTENT rule: content is sent for the bot's own messages, DMs and mentions."""
        if intents & payloads.INTENT_MESSAGE_CONTENT:
            return True
        bot_id = self.world.bot.id
        return msg.author_id == bot_id or msg.guild_id is None or bot_id in msg.mentions

    def message_create(self, msg: Message) -> None:
        """MESSAGE_CREATE (skipped for ephemeral messages, which Discord does not dispatch)."""
        if msg.ephemeral:
            return
        self.gateway.dispatch(
            "MESSAGE_CREATE",
            guild_id=msg.guild_id,
            intent=self._message_intent(msg),
            variant=lambda s: payloads.message(self.world, msg, content_visible=self._content_visible(msg, s.intents)),
        )

    def message_update(self, msg: Message) -> None:
        """MESSAGE_UPDATE with the full message."""
        if msg.ephemeral:
            return
        self.gateway.dispatch(
            "MESSAGE_UPDATE",
            guild_id=msg.guild_id,
            intent=self._message_intent(msg),
            variant=lambda s: payloads.message(self.world, msg, content_visible=self._content_visible(msg, s.intents)),
        )

    def message_delete(self, msg: Message) -> None:
        """MESSAGE_DELETE."""
        if msg.ephemeral:
            return
        data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        self.gateway.dispatch("MESSAGE_DELETE", data, guild_id=msg.guild_id, intent=self._message_intent(msg))

    def message_delete_bulk(self, channel: Channel, ids: list[int]) -> None:
        """MESSAGE_DELETE_BULK."""
        data: dict[str, Any] = {"ids": [str(i) for i in ids], "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.gateway.dispatch(
            "MESSAGE_DELETE_BULK", data, guild_id=channel.guild_id, intent=payloads.INTENT_GUILD_MESSAGES
        )

    # -- guild structure -------------------------------------------------------------------------------

    def guild_create(self, guild: Guild) -> None:
        """GUILD_CREATE for a guild the bot joined after connecting."""
        self.gateway.dispatch(
            "GUILD_CREATE",
            guild_id=guild.id,
            variant=lambda s: payloads.guild_create(
                self.world, guild, intents=s.intents, joined=True, large_threshold=s.large_threshold
            ),
        )

    def guild_delete(self, guild: Guild) -> None:
        """GUILD_DELETE (the bot left or was removed)."""
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id), "unavailable": False}, guild_id=guild.id)

    def channel(self, event: str, channel: Channel) -> None:
        """CHANNEL_CREATE / CHANNEL_UPDATE / CHANNEL_DELETE, or THREAD_* for threads."""
        if channel.type in (
            ChannelType.PUBLIC_THREAD,
            ChannelType.PRIVATE_THREAD,
            ChannelType.ANNOUNCEMENT_THREAD,
        ):
            event = event.replace("CHANNEL_", "THREAD_")
        data = payloads.channel(self.world, channel)
        if event == "THREAD_CREATE":
            data["newly_created"] = True
        self.gateway.dispatch(event, data, guild_id=channel.guild_id)

    def role(self, event: str, guild: Guild, role: Role) -> None:
        """GUILD_ROLE_CREATE / GUILD_ROLE_UPDATE / GUILD_ROLE_DELETE."""
        if event == "GUILD_ROLE_DELETE":
            data: dict[str, Any] = {"guild_id": str(guild.id), "role_id": str(role.id)}
        else:
            data = {"guild_id": str(guild.id), "role": payloads.role(role)}
        self.gateway.dispatch(event, data, guild_id=guild.id)

    def member_add(self, guild: Guild, member: Member) -> None:
        """GUILD_MEMBER_ADD (GUILD_MEMBERS intent)."""
        data = payloads.member(self.world, member)
        data["guild_id"] = str(guild.id)
        self.gateway.dispatch("GUILD_MEMBER_ADD", data, guild_id=guild.id, intent=payloads.INTENT_GUILD_MEMBERS)

    def member_update(self, guild: Guild, member: Member) -> None:
        """GUILD_MEMBER_UPDATE: needs GUILD_MEMBERS, except for the bot's own member (always sent)."""
        data = payloads.member(self.world, member)
        data["guild_id"] = str(guild.id)
        own = member.user_id == self.world.bot.id
        intent = None if own else payloads.INTENT_GUILD_MEMBERS
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", data, guild_id=guild.id, intent=intent)

    def member_remove(self, guild: Guild, user_id: int) -> None:
        """GUILD_MEMBER_REMOVE (GUILD_MEMBERS intent)."""
        data = {"guild_id": str(guild.id), "user": payloads.user(self.world.users[user_id])}
        self.gateway.dispatch("GUILD_MEMBER_REMOVE", data, guild_id=guild.id, intent=payloads.INTENT_GUILD_MEMBERS)

    def voice_state(self, vs: VoiceState) -> None:
        """VOICE_STATE_UPDATE (GUILD_VOICE_STATES intent)."""
        self.gateway.dispatch(
            "VOICE_STATE_UPDATE",
            payloads.voice_state(self.world, vs),
            guild_id=vs.guild_id,
            intent=payloads.INTENT_GUILD_VOICE_STATES,
        )

    def interaction_create(self, data: dict[str, Any], guild_id: int | None) -> int:
        """INTERACTION_CREATE (needs no intent). Returns how many sessions got it."""
        return self.gateway.dispatch("INTERACTION_CREATE", data, guild_id=guild_id, intent=None)

    def raw(self, event: str, data: dict[str, Any], guild_id: int | None = None, intent: int | None = None) -> int:
        """Any other dispatch, as given."""
        return self.gateway.dispatch(event, data, guild_id=guild_id, intent=intent)
