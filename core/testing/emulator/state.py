"""The emulator's in-memory world: users, guilds, channels, roles, members, messages and more.

Plain dataclasses keyed by snowflake. The REST routes, the gateway and the
control API all read and change this one model; ``payloads.py`` turns it into
Discord-shaped JSON.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from . import permissions as perms
from .errors import DiscordAPIError, unknown

DISCORD_EPOCH_MS = 1420070400000


class ChannelType(IntEnum):
    """Discord channel types (the subset the emulator models)."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_STAGE_VOICE = 13
    GUILD_FORUM = 15


THREAD_TYPES = {ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD}
VOICE_TYPES = {ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE}


class SnowflakeGenerator:
    """Makes real snowflakes: milliseconds since the Discord epoch, worker, process and increment."""

    def __init__(self, worker: int = 1, process: int = 0) -> None:
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._last_ms = 0
        self._increment = 0
        self._frozen = False
        self._lock = threading.Lock()

    def replay_from(self, ms: int) -> None:
        """Make the same ids as a generator started at ``ms`` (milliseconds since Discord's epoch), ignoring
        the clock until :meth:`thaw`: the same calls in the same order give the same ids on every run."""
        with self._lock:
            self._frozen = True
            self._last_ms = ms
            self._increment = -1

    def thaw(self) -> None:
        """Back to the clock (ids stay greater than every one made before)."""
        with self._lock:
            self._frozen = False

    def next(self) -> int:
        """A new snowflake, strictly greater than every one made before by this generator."""
        with self._lock:
            ms = self._last_ms if self._frozen else int(time.time() * 1000) - DISCORD_EPOCH_MS
            if ms <= self._last_ms:
                ms = self._last_ms
                self._increment += 1
                if self._increment > 0xFFF:
                    ms += 1
                    self._increment = 0
            else:
                self._increment = 0
            self._last_ms = ms
            return (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment


def snowflake_time(snowflake: int) -> datetime.datetime:
    """The creation time encoded in a snowflake."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso(dt: datetime.datetime | None) -> str | None:
    """ISO-8601 timestamp the way Discord writes them."""
    return dt.isoformat() if dt is not None else None


def now() -> datetime.datetime:
    """The current UTC time."""
    return datetime.datetime.now(tz=datetime.UTC)


@dataclass
class User:
    """A Discord user (a person or the bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    discriminator: str = "0"
    email: str | None = None

    @property
    def mention(self) -> str:
        """``<@id>``."""
        return f"<@{self.id}>"


@dataclass
class Role:
    """A guild role. ``position`` 0 is @everyone; higher is more powerful."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        """``<@&id>``."""
        return f"<@&{self.id}>"


@dataclass
class Channel:
    """A channel: guild text/voice/category/forum, a thread, or a DM."""

    id: int
    type: ChannelType
    guild_id: int | None
    name: str
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    permission_overwrites: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    last_message_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    recipient_ids: list[int] = field(default_factory=list)
    message_count: int = 0

    @property
    def mention(self) -> str:
        """``<#id>``."""
        return f"<#{self.id}>"


@dataclass
class Member:
    """A user's membership in a guild."""

    user_id: int
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime.datetime = field(default_factory=now)
    deaf: bool = False
    mute: bool = False
    pending: bool = False
    flags: int = 0

    @property
    def id(self) -> int:
        """The member's user id."""
        return self.user_id

    @property
    def mention(self) -> str:
        """``<@id>``."""
        return f"<@{self.user_id}>"


@dataclass
class VoiceState:
    """Who is connected to which voice channel."""

    user_id: int
    guild_id: int
    channel_id: int | None
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False


@dataclass
class Message:
    """A message in a channel. ``data`` holds content, embeds, components, etc. as Discord JSON."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    message_reference: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    edited_timestamp: datetime.datetime | None = None
    pinned: bool = False
    nonce: str | int | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user can see it (flag 64)."""
        return bool(self.flags & 64)


@dataclass
class StoredFile:
    """The bytes of an uploaded attachment, served by the emulator's CDN (``cdn.py``)."""

    id: int
    filename: str
    content: bytes
    content_type: str
    description: str | None = None
    channel_id: int | None = None
    message_id: int | None = None
    ephemeral: bool = False


@dataclass
class AppCommand:
    """A registered application command (global when ``guild_id`` is None)."""

    id: int
    application_id: int
    name: str
    type: int = 1
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    guild_id: int | None = None
    default_member_permissions: str | None = None
    dm_permission: bool | None = True
    nsfw: bool = False
    contexts: list[int] | None = None
    integration_types: list[int] | None = None
    name_localizations: dict[str, str] | None = None
    description_localizations: dict[str, str] | None = None
    version: int = 0


@dataclass
class Webhook:
    """A channel webhook (type 1) or the application's interaction webhook."""

    id: int
    token: str
    channel_id: int | None
    guild_id: int | None
    name: str
    type: int = 1
    application_id: int | None = None
    creator_id: int | None = None
    avatar: str | None = None


@dataclass
class Interaction:
    """An interaction sent to the bot, and everything the bot answered."""

    id: int
    token: str
    type: int
    data: dict[str, Any]
    guild_id: int | None
    channel_id: int
    user_id: int
    created: float = field(default_factory=time.monotonic)
    message_id: int | None = None
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    events: asyncio.Queue[str] | None = None

    def notify(self, what: str) -> None:
        """Wake whoever waits on this interaction (the control API's ``invoke``)."""
        if self.events is not None:
            self.events.put_nowait(what)


@dataclass
class Guild:
    """A guild with its roles, channels, members and voice states."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)
    system_channel_id: int | None = None
    afk_channel_id: int | None = None
    icon: str | None = None
    description: str | None = None
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)

    @property
    def everyone(self) -> Role:
        """The @everyone role (same id as the guild)."""
        return self.roles[self.id]

    def member(self, user_id: int) -> Member:
        """The member, or Discord's 10007 Unknown Member."""
        try:
            return self.members[user_id]
        except KeyError:
            raise unknown("member") from None

    def role(self, role_id: int) -> Role:
        """The role, or Discord's 10011 Unknown Role."""
        try:
            return self.roles[role_id]
        except KeyError:
            raise unknown("role") from None

    def highest_position(self, user_id: int) -> int:
        """Position of the member's highest role (0 for @everyone only); the owner is above all."""
        if user_id == self.owner_id:
            return 1 << 30
        member = self.members.get(user_id)
        if member is None:
            return -1
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions of a member."""
        member = self.member(user_id)
        return perms.base_permissions(
            user_id=user_id,
            owner_id=self.owner_id,
            everyone_permissions=self.everyone.permissions,
            role_permissions=[self.roles[r].permissions for r in member.roles if r in self.roles],
        )

    def channel_permissions_of(self, user_id: int, channel_id: int) -> int:
        """Permissions of a member in a channel (threads use their parent's overwrites)."""
        base = self.permissions_of(user_id)
        channel = self.channels[channel_id]
        if channel.type in THREAD_TYPES and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]
        return perms.apply_overwrites(
            base,
            guild_id=self.id,
            user_id=user_id,
            member_role_ids=self.members[user_id].roles,
            overwrites=channel.permission_overwrites,
        )


@dataclass
class OAuthGrant:
    """An authorization code or token issued by the emulated OAuth2 server."""

    user_id: int
    client_id: int
    scope: list[str]
    redirect_uri: str
    expires_at: float


class World:
    """Everything the emulator knows. One instance per ``Emulator``."""

    def __init__(self, *, bot_name: str = "omo-test-bot", snowflake_start_ms: int | None = None) -> None:
        self.snowflakes = SnowflakeGenerator()
        if snowflake_start_ms is not None:  # the same world, with the same ids, on every run (omo demo)
            self.snowflakes.replay_from(snowflake_start_ms)
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        self.commands: dict[int, AppCommand] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.files: dict[int, StoredFile] = {}
        self.oauth_codes: dict[str, OAuthGrant] = {}
        self.oauth_access: dict[str, OAuthGrant] = {}
        self.oauth_refresh: dict[str, OAuthGrant] = {}
        self.application_id = self.snowflakes.next()
        self.bot = self.add_user(bot_name, bot=True, user_id=self.application_id)
        self.owner = self.add_user("app-owner")
        self.bot_token = _bot_token(self.application_id)
        self.client_secret = secrets.token_urlsafe(24)
        self.command_version = 0

    def new_id(self) -> int:
        """A fresh snowflake."""
        return self.snowflakes.next()

    # -- users -----------------------------------------------------------------------------------------

    def add_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None, user_id: int | None = None
    ) -> User:
        """Create a user."""
        uid = user_id if user_id is not None else self.new_id()
        user = User(id=uid, username=username, global_name=global_name, bot=bot, email=f"{username}@example.test")
        self.users[uid] = user
        return user

    def user(self, user_id: int) -> User:
        """The user, or 10013 Unknown User."""
        try:
            return self.users[user_id]
        except KeyError:
            raise unknown("user") from None

    # -- guilds ----------------------------------------------------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        """The guild, or 10004 Unknown Guild."""
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise unknown("guild") from None

    def channel(self, channel_id: int) -> Channel:
        """The channel, or 10003 Unknown Channel."""
        try:
            return self.channels[channel_id]
        except KeyError:
            raise unknown("channel") from None

    def message(self, channel_id: int, message_id: int) -> Message:
        """A live message, or 10008 Unknown Message."""
        msg = self.messages.get(channel_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise unknown("message")
        return msg

    def create_guild(self, name: str, owner: User, *, bot_permissions: int = perms.DEFAULT_BOT) -> Guild:
        """A guild like Discord makes one, with the bot already joined.

        Holds @everyone, a managed role for the bot, a "Text Channels" category with
        #general, and members for the owner and the bot.
        """
        gid = self.new_id()
        guild = Guild(id=gid, name=name, owner_id=owner.id)
        guild.roles[gid] = Role(id=gid, guild_id=gid, name="@everyone", permissions=perms.DEFAULT_EVERYONE)
        self.guilds[gid] = guild
        bot_role = self.create_role(guild, self.bot.username, permissions=bot_permissions, managed=True)
        bot_role.bot_id = self.bot.id
        category = self.create_channel(guild, "Text Channels", ChannelType.GUILD_CATEGORY)
        general = self.create_channel(guild, "general", ChannelType.GUILD_TEXT, parent_id=category.id)
        guild.system_channel_id = general.id
        self.add_member(guild, owner)
        self.add_member(guild, self.bot, roles=[bot_role.id])
        return guild

    def create_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int = 0,
        position: int | None = None,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
        managed: bool = False,
    ) -> Role:
        """Add a role; without ``position`` it goes just above @everyone, like Discord's new roles."""
        rid = self.new_id()
        if position is None:
            position = 1
        for other in guild.roles.values():
            if other.id != guild.id and other.position >= position:
                other.position += 1
        role = Role(
            id=rid,
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=position,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
            managed=managed,
        )
        guild.roles[rid] = role
        return role

    def create_channel(
        self,
        guild: Guild,
        name: str,
        type: ChannelType | int = ChannelType.GUILD_TEXT,
        *,
        parent_id: int | None = None,
        topic: str | None = None,
        permission_overwrites: list[dict[str, Any]] | None = None,
        owner_id: int | None = None,
    ) -> Channel:
        """Add a channel, category, voice channel or thread to a guild."""
        ctype = ChannelType(type)
        if parent_id is not None and parent_id not in guild.channels:
            raise unknown("channel")
        if ctype in THREAD_TYPES and owner_id is None:
            owner_id = guild.owner_id
        position = sum(1 for c in guild.channels.values() if c.type == ctype)
        channel = Channel(
            id=self.new_id(),
            type=ctype,
            guild_id=guild.id,
            name=name,
            position=position,
            parent_id=parent_id,
            topic=topic,
            permission_overwrites=list(permission_overwrites or []),
            owner_id=owner_id,
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.messages[channel.id] = {}
        return channel

    def add_member(
        self, guild: Guild, user: User, *, roles: list[int] | None = None, nick: str | None = None
    ) -> Member:
        """Make a user a member of a guild."""
        member = Member(user_id=user.id, guild_id=guild.id, roles=list(roles or []), nick=nick)
        guild.members[user.id] = member
        return member

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between the bot and a user (created on first use)."""
        for channel in self.channels.values():
            if channel.type == ChannelType.DM and channel.recipient_ids == [user.id]:
                return channel
        channel = Channel(id=self.new_id(), type=ChannelType.DM, guild_id=None, name="", recipient_ids=[user.id])
        self.channels[channel.id] = channel
        self.messages[channel.id] = {}
        return channel

    # -- messages --------------------------------------------------------------------------------------

    def add_message(self, channel: Channel, author: User, **fields: Any) -> Message:
        """Store a new message in a channel."""
        msg = Message(id=self.new_id(), channel_id=channel.id, guild_id=channel.guild_id, author_id=author.id, **fields)
        self.messages.setdefault(channel.id, {})[msg.id] = msg
        channel.last_message_id = msg.id
        channel.message_count += 1
        return msg

    def find_message(self, message_id: int) -> Message:
        """A message by id in any channel, or 10008."""
        for by_id in self.messages.values():
            msg = by_id.get(message_id)
            if msg is not None and not msg.deleted:
                return msg
        raise unknown("message")

    # -- commands --------------------------------------------------------------------------------------

    def commands_for(self, guild_id: int | None) -> list[AppCommand]:
        """Registered commands, global (``None``) or of one guild, in creation order."""
        return [c for c in self.commands.values() if c.guild_id == guild_id]

    def command(self, command_id: int, guild_id: int | None) -> AppCommand:
        """One registered command, or 10063."""
        cmd = self.commands.get(command_id)
        if cmd is None or cmd.guild_id != guild_id:
            raise unknown("application command")
        return cmd

    def find_command(self, name: str, guild_id: int | None, type: int = 1) -> AppCommand | None:
        """A command a user in ``guild_id`` can invoke: guild commands shadow global ones."""
        for scope in (guild_id, None) if guild_id is not None else (None,):
            for cmd in self.commands.values():
                if cmd.guild_id == scope and cmd.name == name and cmd.type == type:
                    return cmd
        return None

    def interaction(self, interaction_id: int, token: str) -> Interaction:
        """A live interaction by id and token, or 10062."""
        inter = self.interactions.get(interaction_id)
        if inter is None or not secrets.compare_digest(inter.token, token):
            raise unknown("interaction")
        return inter

    def webhook_by_token(self, webhook_id: int, token: str) -> Webhook | Interaction:
        """The webhook (or interaction, when ``webhook_id`` is the application) a token unlocks."""
        if webhook_id == self.application_id:
            inter = self.interactions_by_token.get(token)
            if inter is None:
                raise unknown("webhook")
            return inter
        hook = self.webhooks.get(webhook_id)
        if hook is None or not secrets.compare_digest(hook.token, token):
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        return hook


def _bot_token(application_id: int) -> str:
    import base64

    head = base64.urlsafe_b64encode(str(application_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(5)}.{secrets.token_urlsafe(27)}"
