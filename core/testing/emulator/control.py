"""The control API: how tests and the demo drive the emulated Discord (Python and HTTP under ``/_emulator``).

Creating guilds, channels, roles and members is synchronous (the matching
gateway events are queued at once, in order). Everything that acts as a user
towards the bot (messages, slash commands, clicks, voice) is async.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from . import payloads
from . import permissions as perms
from .cdn import Attachment, as_upload
from .errors import DiscordAPIError, EmulatorError, EmulatorTimeout
from .state import (
    AppCommand,
    Channel,
    ChannelType,
    Guild,
    Interaction,
    Member,
    Message,
    Role,
    User,
    VoiceState,
    World,
)

if TYPE_CHECKING:
    from .cdn import CDN
    from .events import Events
    from .gateway import Gateway
    from .oauth import OAuthServer
    from .rest import RestAPI
    from .server import BotAction, Fault

log = structlog.get_logger(__name__)

UserLike = User | Member | int
ChannelLike = Channel | int
GuildLike = Guild | int
RoleLike = Role | int

OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_STRING = 3
OPTION_INTEGER = 4
OPTION_BOOLEAN = 5
OPTION_USER = 6
OPTION_CHANNEL = 7
OPTION_ROLE = 8
OPTION_MENTIONABLE = 9
OPTION_NUMBER = 10
OPTION_ATTACHMENT = 11


@dataclass
class InteractionResult:
    """What the bot answered to an interaction. Properties read the live state, so later edits show."""

    emulator: ControlAPI
    interaction: Interaction

    @property
    def id(self) -> int:
        """The interaction id."""
        return self.interaction.id

    @property
    def type(self) -> int | None:
        """The callback type (4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal)."""
        return self.interaction.callback_type

    @property
    def responded(self) -> bool:
        """Whether the bot answered the callback at all."""
        return self.interaction.callback_type is not None

    @property
    def deferred(self) -> bool:
        """Whether the answer was a deferral (5 or 6)."""
        return self.interaction.callback_type in (5, 6)

    @property
    def data(self) -> dict[str, Any]:
        """The callback ``data`` exactly as the bot sent it."""
        return dict(self.interaction.callback_data or {})

    def _original(self) -> Message | None:
        mid = self.interaction.original_message_id
        if mid is None:
            return None
        for by_id in self.emulator.world.messages.values():
            if mid in by_id:
                return by_id[mid]
        return None

    @property
    def message(self) -> dict[str, Any] | None:
        """The original response message (or the updated component message) as Discord JSON."""
        msg = self._original()
        return payloads.message(self.emulator.world, msg) if msg is not None else None

    @property
    def content(self) -> str | None:
        """Content of the original response message."""
        msg = self._original()
        return msg.content if msg is not None else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Embeds of the original response message."""
        msg = self._original()
        return list(msg.embeds) if msg is not None else []

    @property
    def components(self) -> list[dict[str, Any]]:
        """Components of the original response message."""
        msg = self._original()
        return list(msg.components) if msg is not None else []

    @property
    def ephemeral(self) -> bool:
        """Whether the original response is ephemeral (flag 64)."""
        msg = self._original()
        return bool(msg is not None and msg.ephemeral)

    @property
    def deleted(self) -> bool:
        """Whether the bot deleted its original response."""
        msg = self._original()
        return bool(msg is not None and msg.deleted)

    @property
    def followups(self) -> list[dict[str, Any]]:
        """Follow-up messages, oldest first."""
        world = self.emulator.world
        out = []
        for mid in self.interaction.followup_ids:
            with contextlib.suppress(DiscordAPIError):
                out.append(payloads.message(world, world.find_message(mid)))
        return out

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (callback type 8)."""
        return list((self.interaction.callback_data or {}).get("choices") or []) if self.type == 8 else []

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened (callback type 9): ``custom_id``, ``title``, ``components``."""
        return dict(self.interaction.callback_data or {}) if self.type == 9 else None

    async def wait_for_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait until the bot has sent ``count`` follow-ups; returns them."""
        await self.emulator._wait_interaction(
            self.interaction,
            lambda: len(self.interaction.followup_ids) >= count,
            timeout,
            f"{count} follow-up(s)",
        )
        return self.followups

    async def wait_for_edit(self, timeout: float = 5.0) -> dict[str, Any] | None:  # noqa: ASYNC109
        """Wait until the original response is no longer a "thinking" placeholder; returns it."""

        def done() -> bool:
            msg = self._original()
            return msg is not None and not msg.flags & 128

        await self.emulator._wait_interaction(self.interaction, done, timeout, "an edit of the original response")
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (used by the HTTP control API)."""
        return {
            "interaction_id": str(self.id),
            "type": self.type,
            "content": self.content,
            "embeds": self.embeds,
            "components": self.components,
            "ephemeral": self.ephemeral,
            "message": self.message,
            "followups": self.followups,
            "choices": self.choices,
            "modal": self.modal,
        }


class ControlAPI:
    """Control methods mixed into ``Emulator``."""

    if TYPE_CHECKING:
        world: World
        events: Events
        gateway: Gateway
        rest: RestAPI
        oauth: OAuthServer
        cdn: CDN
        actions: list[BotAction]
        faults: list[Fault]
        _action_signal: asyncio.Event
        _bot_message_cursor: int
        _user_mark: int

        def record(self, kind: str, **data: Any) -> None: ...
        def fail_next(
            self,
            route_pattern: str,
            status: int = 429,
            count: int = 1,
            retry_after: float = 0.05,
            global_: bool = False,
        ) -> Fault: ...
        @property
        def bot_token(self) -> str: ...
        @property
        def base_url(self) -> str: ...

    # -- lookups ---------------------------------------------------------------------------------------

    def _user(self, who: UserLike) -> User:
        if isinstance(who, User):
            return who
        if isinstance(who, Member):
            return self.world.user(who.user_id)
        return self.world.user(int(who))

    def _guild(self, guild: GuildLike) -> Guild:
        return self.world.guild(guild.id if isinstance(guild, Guild) else int(guild))

    def _channel(self, channel: ChannelLike) -> Channel:
        return self.world.channel(channel.id if isinstance(channel, Channel) else int(channel))

    def _role_id(self, role: RoleLike) -> int:
        return role.id if isinstance(role, Role) else int(role)

    def user(self, user_id: int) -> User:
        """A user by id."""
        return self.world.user(user_id)

    def channel_by_name(self, guild: GuildLike, name: str) -> Channel:
        """A guild channel by name (``"general"``)."""
        g = self._guild(guild)
        for channel in g.channels.values():
            if channel.name == name.lstrip("#"):
                return channel
        raise EmulatorError(f"no channel named {name!r} in guild {g.name!r}")

    def role_by_name(self, guild: GuildLike, name: str) -> Role:
        """A guild role by name."""
        g = self._guild(guild)
        for role in g.roles.values():
            if role.name == name:
                return role
        raise EmulatorError(f"no role named {name!r} in guild {g.name!r}")

    def bot_role(self, guild: GuildLike) -> Role:
        """The bot's managed role in a guild."""
        g = self._guild(guild)
        for role in g.roles.values():
            if role.bot_id == self.world.bot.id:
                return role
        raise EmulatorError("the bot has no managed role in this guild")

    # -- world building --------------------------------------------------------------------------------

    def create_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> User:
        """A user who is in no guild yet."""
        return self.world.add_user(username, global_name=global_name, bot=bot)

    def create_guild(
        self,
        name: str = "Test Guild",
        owner: UserLike | str | None = None,
        *,
        bot_permissions: int = perms.DEFAULT_BOT,
    ) -> Guild:
        """A guild with @everyone, the bot's managed role, a #general channel and the owner as a member.

        ``owner`` is a user, a username for a new user, or None for a new "owner" user. A bot that
        is connected receives GUILD_CREATE on the shard the guild belongs to.
        """
        if owner is None or isinstance(owner, str):
            owner_user = self.world.add_user(owner or f"owner-{secrets.token_hex(2)}")
        else:
            owner_user = self._user(owner)
        guild = self.world.create_guild(name, owner_user, bot_permissions=bot_permissions)
        self.events.guild_create(guild)
        return guild

    def general(self, guild: GuildLike) -> Channel:
        """The guild's #general (system) channel."""
        g = self._guild(guild)
        if g.system_channel_id is None:
            raise EmulatorError("guild has no system channel")
        return g.channels[g.system_channel_id]

    def create_channel(
        self,
        guild: GuildLike,
        name: str,
        type: ChannelType | int | str = ChannelType.GUILD_TEXT,
        *,
        parent: ChannelLike | None = None,
        topic: str | None = None,
        overwrites: list[dict[str, Any]] | None = None,
        owner: UserLike | None = None,
    ) -> Channel:
        """A text/voice/category/forum channel or a thread (``type`` as int, ChannelType or name).

        ``overwrites`` are ``{"id", "type" (0 role/1 member), "allow", "deny"}`` dicts.
        Dispatches CHANNEL_CREATE (THREAD_CREATE for threads).
        """
        if isinstance(type, str):
            type = {
                "text": ChannelType.GUILD_TEXT,
                "voice": ChannelType.GUILD_VOICE,
                "category": ChannelType.GUILD_CATEGORY,
                "forum": ChannelType.GUILD_FORUM,
                "announcement": ChannelType.GUILD_ANNOUNCEMENT,
                "news": ChannelType.GUILD_ANNOUNCEMENT,
                "stage": ChannelType.GUILD_STAGE_VOICE,
                "thread": ChannelType.PUBLIC_THREAD,
                "public_thread": ChannelType.PUBLIC_THREAD,
                "private_thread": ChannelType.PRIVATE_THREAD,
            }[type.lower()]
        g = self._guild(guild)
        parent_id = self._channel(parent).id if parent is not None else None
        owner_id = self._user(owner).id if owner is not None else None
        channel = self.world.create_channel(
            g,
            name,
            type,
            parent_id=parent_id,
            topic=topic,
            permission_overwrites=overwrites,
            owner_id=owner_id,
        )
        self.events.channel("CHANNEL_CREATE", channel)
        return channel

    def update_channel(self, channel: ChannelLike, **changes: Any) -> Channel:
        """Change channel attributes (name, topic, permission_overwrites, ...); dispatches CHANNEL_UPDATE."""
        c = self._channel(channel)
        for key, value in changes.items():
            if not hasattr(c, key):
                raise EmulatorError(f"channels have no attribute {key!r}")
            setattr(c, key, value)
        self.events.channel("CHANNEL_UPDATE", c)
        return c

    def delete_channel(self, channel: ChannelLike) -> None:
        """Delete a channel; dispatches CHANNEL_DELETE."""
        c = self._channel(channel)
        if c.guild_id is not None:
            self.world.guilds[c.guild_id].channels.pop(c.id, None)
        self.world.channels.pop(c.id, None)
        self.events.channel("CHANNEL_DELETE", c)

    def create_role(
        self,
        guild: GuildLike,
        name: str,
        permissions: int = 0,
        position: int | None = None,
        *,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        """A role; ``position`` defaults to just above @everyone (below the bot's role). GUILD_ROLE_CREATE."""
        g = self._guild(guild)
        before = {r.id: r.position for r in g.roles.values()}
        role = self.world.create_role(
            g,
            name,
            permissions=permissions,
            position=position,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        self.events.role("GUILD_ROLE_CREATE", g, role)
        for other in g.roles.values():
            if other.id in before and before[other.id] != other.position:
                self.events.role("GUILD_ROLE_UPDATE", g, other)
        return role

    def update_role(self, guild: GuildLike, role: RoleLike, **changes: Any) -> Role:
        """Change role attributes (name, permissions, position, ...); dispatches GUILD_ROLE_UPDATE."""
        g = self._guild(guild)
        r = g.role(self._role_id(role))
        for key, value in changes.items():
            setattr(r, key, value)
        self.events.role("GUILD_ROLE_UPDATE", g, r)
        return r

    def delete_role(self, guild: GuildLike, role: RoleLike) -> None:
        """Delete a role; dispatches GUILD_ROLE_DELETE."""
        g = self._guild(guild)
        r = g.roles.pop(self._role_id(role))
        for member in g.members.values():
            if r.id in member.roles:
                member.roles.remove(r.id)
        self.events.role("GUILD_ROLE_DELETE", g, r)

    def create_member(
        self,
        guild: GuildLike,
        username: str | None = None,
        *,
        roles: Iterable[RoleLike] = (),
        nick: str | None = None,
        user: User | None = None,
        global_name: str | None = None,
    ) -> Member:
        """A new user joining the guild (or ``user`` joining it); dispatches GUILD_MEMBER_ADD."""
        g = self._guild(guild)
        if user is None:
            user = self.world.add_user(username or f"member-{secrets.token_hex(3)}", global_name=global_name)
        member = self.world.add_member(g, user, roles=[self._role_id(r) for r in roles], nick=nick)
        self.events.member_add(g, member)
        return member

    def remove_member(self, guild: GuildLike, member: UserLike) -> None:
        """A member leaves; dispatches GUILD_MEMBER_REMOVE."""
        g = self._guild(guild)
        uid = self._user(member).id
        g.members.pop(uid, None)
        g.voice_states.pop(uid, None)
        self.events.member_remove(g, uid)

    def member(self, guild: GuildLike, user: UserLike) -> Member:
        """A guild member."""
        return self._guild(guild).member(self._user(user).id)

    async def add_role(self, guild: GuildLike, member: UserLike, role: RoleLike) -> Member:
        """A moderator adds a role (no permission checks); dispatches GUILD_MEMBER_UPDATE."""
        g = self._guild(guild)
        m = g.member(self._user(member).id)
        rid = g.role(self._role_id(role)).id
        if rid not in m.roles:
            m.roles.append(rid)
        self.events.member_update(g, m)
        await self.flush()
        return m

    async def remove_role(self, guild: GuildLike, member: UserLike, role: RoleLike) -> Member:
        """A moderator removes a role; dispatches GUILD_MEMBER_UPDATE."""
        g = self._guild(guild)
        m = g.member(self._user(member).id)
        rid = self._role_id(role)
        if rid in m.roles:
            m.roles.remove(rid)
        self.events.member_update(g, m)
        await self.flush()
        return m

    async def set_nick(self, guild: GuildLike, member: UserLike, nick: str | None) -> Member:
        """Change a member's nickname; dispatches GUILD_MEMBER_UPDATE."""
        g = self._guild(guild)
        m = g.member(self._user(member).id)
        m.nick = nick
        self.events.member_update(g, m)
        await self.flush()
        return m

    async def join_voice(
        self, member: UserLike, channel: ChannelLike, *, self_mute: bool = False, self_deaf: bool = False
    ) -> VoiceState:
        """A member joins (or moves to) a voice channel; dispatches VOICE_STATE_UPDATE."""
        c = self._channel(channel)
        if c.type not in (ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE) or c.guild_id is None:
            raise EmulatorError(f"#{c.name} is not a voice channel")
        g = self.world.guilds[c.guild_id]
        uid = self._user(member).id
        g.member(uid)
        vs = g.voice_states.get(uid)
        if vs is None:
            vs = VoiceState(user_id=uid, guild_id=g.id, channel_id=c.id, session_id=secrets.token_hex(16))
            g.voice_states[uid] = vs
        vs.channel_id = c.id
        vs.self_mute, vs.self_deaf = self_mute, self_deaf
        self.events.voice_state(vs)
        await self.flush()
        return vs

    async def leave_voice(self, member: UserLike, guild: GuildLike) -> None:
        """A member leaves voice; dispatches VOICE_STATE_UPDATE with ``channel_id`` null."""
        g = self._guild(guild)
        uid = self._user(member).id
        vs = g.voice_states.pop(uid, None)
        if vs is None:
            return
        vs.channel_id = None
        self.events.voice_state(vs)
        await self.flush()

    def _bot_voice_state(self, guild_id: int, channel_id: int | None, self_mute: bool, self_deaf: bool) -> None:
        g = self.world.guilds.get(guild_id)
        if g is None:
            return
        uid = self.world.bot.id
        vs = g.voice_states.get(uid) or VoiceState(uid, guild_id, channel_id, secrets.token_hex(16))
        vs.channel_id, vs.self_mute, vs.self_deaf = channel_id, self_mute, self_deaf
        if channel_id is None:
            g.voice_states.pop(uid, None)
        else:
            g.voice_states[uid] = vs
        self.record("voice.state", guild_id=guild_id, channel_id=channel_id)
        self.events.voice_state(vs)

    # -- messages as users -----------------------------------------------------------------------------

    async def send_message(
        self,
        member: UserLike,
        channel: ChannelLike,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        reply_to: int | Mapping[str, Any] | None = None,
        attachments: Iterable[Attachment | tuple[Any, ...] | Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user posts a message; dispatches MESSAGE_CREATE and returns the message as Discord JSON.

        ``<@id>`` and ``<@&id>`` in ``content`` become mentions (which is also what lets a bot
        without the MESSAGE_CONTENT intent see the content). ``attachments`` are uploads:
        ``Attachment(filename, content)``, ``(filename, bytes)`` tuples or dicts with ``filename`` and
        ``content``; their bytes are served at each attachment's ``url`` until the message is deleted.
        A dict without ``content`` only describes a file (``{"filename", "size"}``): its URL answers 404.
        """
        author = self._user(member)
        c = self._channel(channel)
        if c.guild_id is not None and author.id not in self.world.guilds[c.guild_id].members:
            raise EmulatorError(f"{author.username} is not a member of the channel's guild")
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if reply_to is not None:
            ref_id = reply_to["id"] if isinstance(reply_to, Mapping) else reply_to
            body["message_reference"] = {"message_id": str(ref_id), "channel_id": str(c.id)}
        if attachments:
            body["attachments"] = [self._upload(a, c) for a in attachments]
            body["__files__"] = True
        msg = self.rest.build_message(c, author, body)
        self._user_mark = len(self.actions)
        self.events.message_create(msg)
        await self.flush()
        return payloads.message(self.world, msg)

    def _upload(self, value: Any, channel: Channel, *, ephemeral: bool = False) -> dict[str, Any]:
        upload = as_upload(value)
        if upload is not None:
            return self.cdn.store(upload, channel_id=channel.id, ephemeral=ephemeral)
        if isinstance(value, Mapping) and {"id", "url"} <= set(value):
            return dict(value)
        return self.cdn.unstored(value, channel_id=channel.id, ephemeral=ephemeral)

    def attachment_bytes(self, attachment: Mapping[str, Any] | int | str) -> bytes:
        """The bytes stored for an attachment (its object, id or URL), whoever uploaded it.

        Tests that want the real path fetch ``attachment["url"]`` over HTTP instead.
        """
        return self.cdn.content_of(attachment)

    async def send_dm(self, user: UserLike, content: str) -> dict[str, Any]:
        """A user sends the bot a direct message; dispatches MESSAGE_CREATE on shard 0."""
        author = self._user(user)
        return await self.send_message(author, self.world.dm_channel(author), content)

    async def edit_message(self, message: int | Mapping[str, Any], content: str) -> dict[str, Any]:
        """The author edits a message; dispatches MESSAGE_UPDATE."""
        msg = self.world.find_message(int(message["id"]) if isinstance(message, Mapping) else int(message))
        self._user_mark = len(self.actions)
        self.rest.apply_edit(msg, {"content": content})
        self.events.message_update(msg)
        await self.flush()
        return payloads.message(self.world, msg)

    async def delete_message(self, message: int | Mapping[str, Any]) -> None:
        """A message is deleted by its author or a moderator; dispatches MESSAGE_DELETE."""
        msg = self.world.find_message(int(message["id"]) if isinstance(message, Mapping) else int(message))
        self._user_mark = len(self.actions)
        msg.deleted = True
        self.events.message_delete(msg)
        await self.flush()

    def messages(self, channel: ChannelLike) -> list[dict[str, Any]]:
        """Every live message in a channel, oldest first, including ephemeral ones."""
        c = self._channel(channel)
        return [
            payloads.message(self.world, m)
            for m in sorted(self.world.messages.get(c.id, {}).values(), key=lambda m: m.id)
            if not m.deleted
        ]

    def sent_messages(
        self, channel_id: ChannelLike | None = None, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Messages the bot sent (REST, interaction responses, follow-ups), oldest first, as they are now."""
        cid = self._channel(channel_id).id if isinstance(channel_id, Channel) else channel_id
        out = []
        for ch_id, by_id in self.world.messages.items():
            if cid is not None and ch_id != int(cid):
                continue
            for msg in by_id.values():
                if msg.author_id == self.world.bot.id and (include_deleted or not msg.deleted):
                    out.append(msg)
        out.sort(key=lambda m: m.id)
        return [payloads.message(self.world, m) for m in out]

    def bot_actions(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The audit list of what the bot did; ``kind`` filters by prefix (``"message"``, ``"role.add"``)."""
        return [a.to_dict() for a in self.actions if kind is None or a.kind == kind or a.kind.startswith(kind + ".")]

    async def wait_for_bot_message(
        self,
        channel: ChannelLike | None = None,
        *,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The next message the bot sends, in ``channel`` and matching ``predicate`` if given.

        "Next" means after the last message a user sent (or edited or deleted) through the control
        API and after the message this method returned before, so ``send_message`` followed by
        ``wait_for_bot_message`` finds the reply even if the bot was faster than the test, and two
        calls return two replies.
        """
        start = max(self._bot_message_cursor, self._user_mark)
        cid = self._channel(channel).id if channel is not None else None

        def find() -> dict[str, Any] | None:
            for index in range(start, len(self.actions)):
                action = self.actions[index]
                if action.kind not in ("message.create", "webhook.execute", "interaction.followup"):
                    continue
                mid = action.data.get("message_id")
                try:
                    msg = self.world.find_message(int(mid))  # type: ignore[arg-type]
                except DiscordAPIError:
                    continue
                if cid is not None and msg.channel_id != cid:
                    continue
                data = payloads.message(self.world, msg)
                if predicate is None or predicate(data):
                    self._bot_message_cursor = index + 1
                    return data
            return None

        found: dict[str, Any] = await self._wait_action(find, timeout, "a message from the bot")
        return found

    async def wait_for_action(
        self,
        kind: str,
        *,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int | None = None,
    ) -> dict[str, Any]:
        """Wait for the bot to do ``kind`` (``"role.add"``, ``"commands.overwrite"``); returns the action."""
        start = len(self.actions) if since is None else since

        def find() -> dict[str, Any] | None:
            for action in self.actions[start:]:
                if action.kind == kind:
                    data = action.to_dict()
                    if predicate is None or predicate(data):
                        return data
            return None

        action: dict[str, Any] = await self._wait_action(find, timeout, f"bot action {kind!r}")
        return action

    async def _wait_action(self, find: Callable[[], Any], within: float, what: str) -> Any:
        deadline = time.monotonic() + within
        while True:
            found = find()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorTimeout(f"timed out after {within}s waiting for {what}")
            self._action_signal.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._action_signal.wait(), timeout=min(remaining, 0.25))

    # -- interactions ----------------------------------------------------------------------------------

    def registered_commands(self, guild: GuildLike | None = None) -> list[dict[str, Any]]:
        """Application commands the bot registered (global, or of one guild), as Discord JSON."""
        gid = self._guild(guild).id if guild is not None else None
        return [payloads.application_command(c) for c in self.world.commands_for(gid)]

    def _resolve_command(self, guild_id: int | None, path: str, ctype: int = 1) -> tuple[AppCommand, list[str]]:
        parts = path.strip().lstrip("/").split()
        if not parts:
            raise EmulatorError("empty command name")
        cmd = self.world.find_command(parts[0], guild_id, ctype)
        if cmd is None:
            known = sorted(c.name for c in self.world.commands.values() if c.guild_id in (None, guild_id))
            raise EmulatorError(
                f"command {parts[0]!r} is not registered (registered: {known}); did the bot sync its command tree?"
            )
        return cmd, parts[1:]

    def _build_options(
        self,
        guild: Guild | None,
        schema: list[dict[str, Any]],
        path: list[str],
        values: Mapping[str, Any],
        resolved: dict[str, dict[str, Any]],
        focused: str | None = None,
        channel: Channel | None = None,
    ) -> list[dict[str, Any]]:
        if path:
            head = path[0]
            for opt in schema:
                if opt["name"] == head and opt["type"] in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP):
                    inner = self._build_options(
                        guild, opt.get("options") or [], path[1:], values, resolved, focused, channel
                    )
                    return [{"name": head, "type": opt["type"], "options": inner}]
            raise EmulatorError(f"no subcommand {head!r}; choices: {[o['name'] for o in schema]}")
        if any(o["type"] in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP) for o in schema):
            raise EmulatorError(f"a subcommand is required; choices: {[o['name'] for o in schema]}")
        by_name = {o["name"]: o for o in schema}
        unknown = [k for k in values if k not in by_name]
        if unknown:
            raise EmulatorError(f"unknown option(s) {unknown}; the command takes {list(by_name)}")
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values and o["name"] != focused]
        if missing and focused is None:
            raise EmulatorError(f"missing required option(s) {missing}")
        out = []
        for name, value in values.items():
            opt = by_name[name]
            item: dict[str, Any] = {
                "name": name,
                "type": opt["type"],
                "value": self._option_value(guild, opt, value, resolved, name == focused, channel=channel),
            }
            if name == focused:
                item["focused"] = True
            out.append(item)
        return out

    def _option_value(
        self,
        guild: Guild | None,
        opt: dict[str, Any],
        value: Any,
        resolved: dict[str, dict[str, Any]],
        focused: bool,
        *,
        channel: Channel | None = None,
    ) -> Any:
        otype = opt["type"]
        if focused:
            return str(value) if otype in (OPTION_STRING,) else value
        if otype == OPTION_STRING:
            return str(value)
        if otype == OPTION_INTEGER:
            return int(value)
        if otype == OPTION_NUMBER:
            return float(value)
        if otype == OPTION_BOOLEAN:
            return bool(value)
        if otype == OPTION_USER or (otype == OPTION_MENTIONABLE and self._is_user(value)):
            user = self._user(value)
            resolved.setdefault("users", {})[str(user.id)] = payloads.user(user)
            if guild is not None and user.id in guild.members:
                m = payloads.member(self.world, guild.members[user.id], with_user=False)
                m["permissions"] = str(guild.permissions_of(user.id))
                resolved.setdefault("members", {})[str(user.id)] = m
            return str(user.id)
        if otype == OPTION_CHANNEL:
            c = self._channel(value)
            perms_value = guild.permissions_of(self.world.bot.id) if guild else 0
            resolved.setdefault("channels", {})[str(c.id)] = payloads.partial_channel(c, perms_value)
            return str(c.id)
        if otype in (OPTION_ROLE, OPTION_MENTIONABLE):
            if guild is None:
                raise EmulatorError("role options need a guild")
            r = guild.role(self._role_id(value))
            resolved.setdefault("roles", {})[str(r.id)] = payloads.role(r)
            return str(r.id)
        if otype == OPTION_ATTACHMENT:
            # Files given to a slash command are ephemeral attachments on Discord (ephemeral-attachments URL).
            if isinstance(value, str):
                value = {"filename": value}
            if channel is None:
                raise EmulatorError("attachment options need the channel the command runs in")
            att = self._upload(value, channel, ephemeral=True)
            resolved.setdefault("attachments", {})[att["id"]] = att
            return att["id"]
        return value

    def _is_user(self, value: Any) -> bool:
        if isinstance(value, (User, Member)):
            return True
        return not isinstance(value, Role) and str(value).isdigit() and int(value) in self.world.users

    def _new_interaction(
        self,
        itype: int,
        data: dict[str, Any],
        member: UserLike,
        channel: ChannelLike,
        message_id: int | None = None,
    ) -> Interaction:
        user = self._user(member)
        c = self._channel(channel)
        if c.guild_id is not None:
            g = self.world.guilds[c.guild_id]
            if user.id not in g.members:
                raise EmulatorError(f"{user.username} is not a member of {g.name!r}")
        inter = Interaction(
            id=self.world.new_id(),
            token=secrets.token_urlsafe(64),
            type=itype,
            data=data,
            guild_id=c.guild_id,
            channel_id=c.id,
            user_id=user.id,
            message_id=message_id,
            events=asyncio.Queue(),
        )
        self.world.interactions[inter.id] = inter
        self.world.interactions_by_token[inter.token] = inter
        return inter

    async def _dispatch_interaction(
        self,
        inter: Interaction,
        within: float,
        *,
        settle: bool = True,
        message_payload: dict[str, Any] | None = None,
    ) -> InteractionResult:
        data = payloads.interaction(self.world, inter, message_payload=message_payload)
        start = len(self.actions)
        if self.events.interaction_create(data, inter.guild_id) == 0:
            raise EmulatorError("no connected bot session receives this guild's events")
        await self._wait_interaction(
            inter, lambda: inter.callback_type is not None, within, "the bot to answer the interaction"
        )
        result = InteractionResult(self, inter)
        if settle and inter.callback_type in (5, 6):
            # A deferral: give the bot the rest of the timeout to edit or follow up.
            with contextlib.suppress(EmulatorTimeout):
                await self._wait_interaction(
                    inter,
                    lambda: any(
                        a.kind in ("interaction.original.edit", "interaction.followup", "webhook.message.delete")
                        and a.data.get("interaction_id", inter.id) == inter.id
                        and self._action_touches(a.data, inter)
                        for a in self.actions[start:]
                    ),
                    within,
                    "the deferred response",
                )
        return result

    def _action_touches(self, data: Mapping[str, Any], inter: Interaction) -> bool:
        mid = data.get("message_id")
        if data.get("interaction_id") == inter.id:
            return True
        return mid is not None and mid in {inter.original_message_id, inter.message_id, *inter.followup_ids}

    async def _wait_interaction(self, inter: Interaction, done: Callable[[], bool], within: float, what: str) -> None:
        deadline = time.monotonic() + within
        assert inter.events is not None
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorTimeout(f"timed out after {within}s waiting for {what}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(inter.events.get(), timeout=remaining)

    async def invoke(
        self,
        member: UserLike,
        channel: ChannelLike,
        command: str,
        options: Mapping[str, Any] | None = None,
        /,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        **kwargs: Any,
    ) -> InteractionResult:
        """A user runs a slash command; returns the bot's answer once it has responded.

        ``command`` is the name with any subcommand path: ``"mileage give"``. Options come
        from ``options`` and keyword arguments and are typed by the registered command's
        schema: pass members/users/channels/roles (or ids) for those option types; they are
        added to ``resolved`` as Discord does. An attachment option takes an upload
        (``Attachment(filename, content)``, a ``(filename, bytes)`` tuple or a dict with ``filename`` and
        ``content``), whose bytes are then served at the attachment's ``url``; a dict without
        ``content`` (``{"filename", "size"}``) only describes a file whose URL answers 404.
        The command must have been registered (synced).
        A deferred answer is awaited until the bot edits or follows up (within ``timeout``).
        """
        c = self._channel(channel)
        guild = self.world.guilds.get(c.guild_id) if c.guild_id is not None else None
        cmd, path = self._resolve_command(c.guild_id, command)
        values = {**(options or {}), **kwargs}
        resolved: dict[str, dict[str, Any]] = {}
        opts = self._build_options(guild, cmd.options, path, values, resolved, channel=c)
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": 1}
        if opts:
            data["options"] = opts
        if resolved:
            data["resolved"] = resolved
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        inter = self._new_interaction(2, data, member, c)
        return await self._dispatch_interaction(inter, timeout)

    async def invoke_context_menu(
        self,
        member: UserLike,
        channel: ChannelLike,
        name: str,
        target: UserLike | Mapping[str, Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionResult:
        """A user runs a user (target = member) or message (target = message dict) context-menu command."""
        c = self._channel(channel)
        guild = self.world.guilds.get(c.guild_id) if c.guild_id is not None else None
        resolved: dict[str, dict[str, Any]] = {}
        if isinstance(target, Mapping):
            cmd, _ = self._resolve_command(c.guild_id, name, 3)
            msg = self.world.find_message(int(target["id"]))
            resolved["messages"] = {str(msg.id): payloads.message(self.world, msg)}
            target_id = str(msg.id)
        else:
            cmd, _ = self._resolve_command(c.guild_id, name, 2)
            target_id = self._option_value(guild, {"type": OPTION_USER}, target, resolved, False)
        data: dict[str, Any] = {
            "id": str(cmd.id),
            "name": cmd.name,
            "type": cmd.type,
            "target_id": target_id,
            "resolved": resolved,
        }
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        inter = self._new_interaction(2, data, member, c)
        return await self._dispatch_interaction(inter, timeout)

    async def autocomplete(
        self,
        member: UserLike,
        channel: ChannelLike,
        command: str,
        focused: str,
        value: str = "",
        options: Mapping[str, Any] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """A user types ``value`` into option ``focused``; returns the choices the bot offers."""
        c = self._channel(channel)
        guild = self.world.guilds.get(c.guild_id) if c.guild_id is not None else None
        cmd, path = self._resolve_command(c.guild_id, command)
        values = {**(options or {}), focused: value}
        resolved: dict[str, dict[str, Any]] = {}
        opts = self._build_options(guild, cmd.options, path, values, resolved, focused=focused, channel=c)
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": 1, "options": opts}
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        if resolved:
            data["resolved"] = resolved
        inter = self._new_interaction(4, data, member, c)
        result = await self._dispatch_interaction(inter, timeout, settle=False)
        return result.choices

    def _find_component(self, components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
        for comp in components:
            if comp.get("custom_id") == custom_id:
                return comp
            for key in ("components", "component", "accessory"):
                inner = comp.get(key)
                if isinstance(inner, dict):
                    inner = [inner]
                if isinstance(inner, list):
                    found = self._find_component(inner, custom_id)
                    if found is not None:
                        return found
        return None

    async def click(
        self,
        member: UserLike,
        message: int | Mapping[str, Any],
        custom_id: str,
        *,
        values: list[Any] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionResult:
        """A user clicks a button or picks select-menu ``values`` on a message the bot sent."""
        msg = self.world.find_message(int(message["id"]) if isinstance(message, Mapping) else int(message))
        comp = self._find_component(msg.components, custom_id)
        if comp is None:
            raise EmulatorError(f"message {msg.id} has no component with custom_id {custom_id!r}")
        if comp.get("disabled"):
            raise EmulatorError(f"component {custom_id!r} is disabled")
        ctype = int(comp["type"])
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype}
        if ctype in (3, 5, 6, 7, 8):
            guild = self.world.guilds.get(msg.guild_id) if msg.guild_id is not None else None
            resolved: dict[str, dict[str, Any]] = {}
            picked = []
            opt_type = {5: OPTION_USER, 6: OPTION_ROLE, 7: OPTION_MENTIONABLE, 8: OPTION_CHANNEL}.get(ctype)
            for v in values or []:
                picked.append(
                    str(v) if opt_type is None else self._option_value(guild, {"type": opt_type}, v, resolved, False)
                )
            data["values"] = picked
            if resolved:
                data["resolved"] = resolved
        message_payload = payloads.message(self.world, msg)
        inter = self._new_interaction(3, data, member, msg.channel_id, message_id=msg.id)
        return await self._dispatch_interaction(inter, timeout, message_payload=message_payload)

    async def submit_modal(
        self,
        member: UserLike,
        channel: ChannelLike,
        modal: InteractionResult | Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionResult:
        """A user fills in and submits a modal the bot opened (``modal`` is the result that opened it)."""
        spec = modal.modal if isinstance(modal, InteractionResult) else dict(modal)
        if not spec:
            raise EmulatorError("the interaction did not open a modal")
        source = modal.interaction if isinstance(modal, InteractionResult) else None

        def fill(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out = []
            for comp in components:
                ctype = int(comp.get("type", 0))
                if ctype == 1:
                    out.append({"type": 1, "components": fill(comp.get("components") or [])})
                elif ctype == 18:
                    inner = fill([comp["component"]]) if comp.get("component") else []
                    out.append({"type": 18, "component": inner[0] if inner else {}})
                elif comp.get("custom_id") is not None:
                    cid = comp["custom_id"]
                    if ctype == 4:
                        out.append(
                            {
                                "type": 4,
                                "custom_id": cid,
                                "value": str(values.get(cid, comp.get("value") or "")),
                            }
                        )
                    else:
                        picked = values.get(cid, [])
                        out.append(
                            {
                                "type": ctype,
                                "custom_id": cid,
                                "values": [str(v) for v in (picked if isinstance(picked, list) else [picked])],
                            }
                        )
            return out

        data = {"custom_id": spec["custom_id"], "components": fill(list(spec.get("components") or []))}
        message_id = source.message_id if source is not None and source.type == 3 else None
        inter = self._new_interaction(5, data, member, channel, message_id=message_id)
        message_payload = None
        if message_id is not None:
            with contextlib.suppress(DiscordAPIError):
                message_payload = payloads.message(self.world, self.world.find_message(message_id))
        return await self._dispatch_interaction(inter, timeout, message_payload=message_payload)

    # -- connection control ----------------------------------------------------------------------------

    @property
    def bot_connected_shards(self) -> set[int]:
        """Shard ids with a connected, READY gateway session."""
        return self.gateway.connected_shards()

    async def wait_for_bot_ready(self, shard_count: int | None = None, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot's shards are identified and their READY + GUILD_CREATEs are on the wire."""
        await self.gateway.wait_ready(shard_count, timeout)

    async def drop_connection(self, shard_id: int = 0, code: int | None = None, resume: bool = True) -> None:
        """Close a shard's websocket; with ``resume`` the client resumes and missed events replay once."""
        await self.gateway.drop_connection(shard_id, code=code, resume=resume)

    def request_reconnect(self, shard_id: int = 0) -> None:
        """Send op 7 RECONNECT to a shard."""
        self.gateway.request_reconnect(shard_id)

    def request_heartbeat(self, shard_id: int = 0) -> None:
        """Ask a shard for an immediate heartbeat (op 1)."""
        self.gateway.request_heartbeat(shard_id)

    async def flush(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every queued gateway event is written to the sockets."""
        for session in list(self.gateway.sessions.values()):
            conn = session.connection
            if conn is not None and not conn.closed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(conn.flushed.wait(), timeout)

    def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: int | None = None, intent: int | None = None
    ) -> int:
        """Send any gateway DISPATCH as is (for events the control API does not model)."""
        return self.events.raw(event, data, guild_id=guild_id, intent=intent)

    # -- OAuth -----------------------------------------------------------------------------------------

    def approve_oauth(
        self,
        user_id: UserLike,
        client_id: int | str,
        redirect_uri: str,
        scope: str = "identify guilds",
        state: str | None = None,
    ) -> str:
        """Approve an authorization request as a user, without a browser; returns the redirect URL."""
        return self.oauth.issue_code(self._user(user_id).id, str(client_id), redirect_uri, scope, state)

    # -- snapshot --------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able dump of the whole emulated state."""
        w = self.world
        guilds = []
        for g in w.guilds.values():
            data = payloads.guild_create(w, g, intents=payloads.ALL_INTENTS, large_threshold=1 << 30)
            data["messages"] = {
                str(c.id): [
                    payloads.message(w, m)
                    for m in sorted(w.messages.get(c.id, {}).values(), key=lambda m: m.id)
                    if not m.deleted
                ]
                for c in g.channels.values()
            }
            guilds.append(data)
        return {
            "application_id": str(w.application_id),
            "bot": payloads.user(w.bot),
            "users": [payloads.user(u) for u in w.users.values()],
            "guilds": guilds,
            "commands": [payloads.application_command(c) for c in w.commands.values()],
            "webhooks": [payloads.webhook(w, h, with_token=False) for h in w.webhooks.values()],
            "shards": sorted(self.bot_connected_shards),
            "actions": [a.to_dict() for a in self.actions],
        }


# -- HTTP control API ----------------------------------------------------------------------------------


def _ok(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, default=str).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def control_routes(emu: Any) -> list[tuple[str, str, Any]]:
    """Routes of the HTTP control API (mounted under ``/_emulator``)."""
    world: World = emu.world

    async def body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        return json.loads(raw) if raw else {}

    def wrap(fn: Callable[[web.Request], Awaitable[web.Response]]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            try:
                return await fn(request)
            except (EmulatorError, KeyError, ValueError, TypeError) as exc:
                return _ok({"error": type(exc).__name__, "message": str(exc)}, status=400)
            except DiscordAPIError as exc:
                return _ok({"error": "DiscordAPIError", **exc.body()}, status=exc.status)

        return handler

    async def info(request: web.Request) -> web.Response:
        return _ok(
            {
                "base_url": emu.base_url,
                "api_url": emu.api_url,
                "gateway_url": emu.gateway_url,
                "bot_token": emu.bot_token,
                "application_id": str(emu.application_id),
                "client_secret": emu.client_secret,
                "shards": sorted(emu.bot_connected_shards),
            }
        )

    async def snapshot(request: web.Request) -> web.Response:
        return _ok(emu.snapshot())

    async def create_guild(request: web.Request) -> web.Response:
        b = await body(request)
        owner = int(b["owner_id"]) if b.get("owner_id") else b.get("owner")
        guild = emu.create_guild(b.get("name", "Test Guild"), owner)
        return _ok(payloads.guild_create(world, guild, intents=payloads.ALL_INTENTS, large_threshold=1 << 30), 201)

    async def create_channel(request: web.Request) -> web.Response:
        b = await body(request)
        channel = emu.create_channel(
            int(request.match_info["guild_id"]),
            b["name"],
            b.get("type", 0),
            parent=int(b["parent_id"]) if b.get("parent_id") else None,
            topic=b.get("topic"),
        )
        return _ok(payloads.channel(world, channel), 201)

    async def create_role(request: web.Request) -> web.Response:
        b = await body(request)
        role = emu.create_role(
            int(request.match_info["guild_id"]), b["name"], int(b.get("permissions", 0)), b.get("position")
        )
        return _ok(payloads.role(role), 201)

    async def create_member(request: web.Request) -> web.Response:
        b = await body(request)
        member = emu.create_member(
            int(request.match_info["guild_id"]),
            b.get("username"),
            roles=[int(r) for r in b.get("roles", [])],
            nick=b.get("nick"),
        )
        return _ok(payloads.member(world, member), 201)

    async def member_role(request: web.Request) -> web.Response:
        gid, uid, rid = (int(request.match_info[k]) for k in ("guild_id", "user_id", "role_id"))
        if request.method == "PUT":
            member = await emu.add_role(gid, uid, rid)
        else:
            member = await emu.remove_role(gid, uid, rid)
        return _ok(payloads.member(world, member))

    async def post_message(request: web.Request) -> web.Response:
        b = await body(request)
        msg = await emu.send_message(
            int(b["author_id"]),
            int(request.match_info["channel_id"]),
            b.get("content", ""),
            attachments=b.get("attachments") or None,
        )
        return _ok(msg, 201)

    async def channel_messages(request: web.Request) -> web.Response:
        return _ok(emu.messages(int(request.match_info["channel_id"])))

    async def interactions(request: web.Request) -> web.Response:
        b = await body(request)
        result = await emu.invoke(
            int(b["user_id"]),
            int(b["channel_id"]),
            b["command"],
            b.get("options") or {},
            timeout=float(b.get("timeout", 5.0)),
        )
        return _ok(result.to_dict())

    async def voice(request: web.Request) -> web.Response:
        b = await body(request)
        if b.get("channel_id"):
            await emu.join_voice(int(b["user_id"]), int(b["channel_id"]))
        else:
            await emu.leave_voice(int(b["user_id"]), int(b["guild_id"]))
        return _ok({"ok": True})

    async def drop(request: web.Request) -> web.Response:
        b = await body(request)
        await emu.drop_connection(
            int(request.match_info["shard_id"]), code=b.get("code"), resume=bool(b.get("resume", True))
        )
        return _ok({"ok": True})

    async def faults(request: web.Request) -> web.Response:
        b = await body(request)
        emu.fail_next(
            b["route"],
            status=int(b.get("status", 429)),
            count=int(b.get("count", 1)),
            retry_after=float(b.get("retry_after", 0.05)),
            global_=bool(b.get("global", False)),
        )
        return _ok({"ok": True}, 201)

    async def sent(request: web.Request) -> web.Response:
        cid = request.query.get("channel_id")
        return _ok(emu.sent_messages(int(cid) if cid else None))

    async def actions(request: web.Request) -> web.Response:
        return _ok(emu.bot_actions(request.query.get("kind")))

    async def oauth_approve(request: web.Request) -> web.Response:
        b = await body(request)
        url = emu.approve_oauth(
            int(b["user_id"]),
            b.get("client_id", emu.application_id),
            b["redirect_uri"],
            b.get("scope", "identify guilds"),
            b.get("state"),
        )
        return _ok({"url": url})

    return [
        ("GET", "", wrap(info)),
        ("GET", "/", wrap(info)),
        ("GET", "/snapshot", wrap(snapshot)),
        ("POST", "/guilds", wrap(create_guild)),
        ("POST", "/guilds/{guild_id}/channels", wrap(create_channel)),
        ("POST", "/guilds/{guild_id}/roles", wrap(create_role)),
        ("POST", "/guilds/{guild_id}/members", wrap(create_member)),
        ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", wrap(member_role)),
        ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", wrap(member_role)),
        ("POST", "/channels/{channel_id}/messages", wrap(post_message)),
        ("GET", "/channels/{channel_id}/messages", wrap(channel_messages)),
        ("POST", "/interactions", wrap(interactions)),
        ("POST", "/voice", wrap(voice)),
        ("POST", "/shards/{shard_id}/drop", wrap(drop)),
        ("POST", "/faults", wrap(faults)),
        ("GET", "/sent-messages", wrap(sent)),
        ("GET", "/actions", wrap(actions)),
        ("POST", "/oauth/approve", wrap(oauth_approve)),
    ]
