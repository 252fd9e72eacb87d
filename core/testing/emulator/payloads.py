"""Discord-shaped JSON for the emulator's model, as Discord's API documentation describes it.

Every builder returns a fresh dict that is safe to mutate and serialise.
"""

from __future__ import annotations

from typing import Any

from .cdn import ATTACHMENT_SIZE_LIMIT
from .state import (
    THREAD_TYPES,
    VOICE_TYPES,
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
    Webhook,
    World,
    iso,
    snowflake_time,
)

#: Intent bits as Discord documents them.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_VOICE_STATES = 1 << 7
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
ALL_INTENTS = (1 << 26) - 1


def user(u: User) -> dict[str, Any]:
    """A user object."""
    data: dict[str, Any] = {
        "id": str(u.id),
        "username": u.username,
        "global_name": u.global_name,
        "discriminator": u.discriminator,
        "avatar": u.avatar,
        "avatar_decoration_data": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "primary_guild": None,
    }
    if u.bot:
        data["bot"] = True
    return data


def current_user(u: User) -> dict[str, Any]:
    """The ``/users/@me`` object for the bot."""
    data = user(u)
    data.update({"mfa_enabled": False, "locale": "en-US", "verified": True, "email": None, "premium_type": 0})
    return data


def role(r: Role) -> dict[str, Any]:
    """A role object."""
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def member(world: World, m: Member, *, with_user: bool = True) -> dict[str, Any]:
    """A guild member object (``with_user=False`` for the partial member in messages and resolved data)."""
    data: dict[str, Any] = {
        "roles": [str(r) for r in m.roles],
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": m.deaf,
        "mute": m.mute,
        "pending": m.pending,
        "flags": m.flags,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(world.users[m.user_id])
    return data


def channel(world: World, c: Channel) -> dict[str, Any]:
    """A channel object (guild channel, thread or DM)."""
    if c.type == ChannelType.DM:
        return {
            "id": str(c.id),
            "type": int(c.type),
            "last_message_id": _opt(c.last_message_id),
            "recipients": [user(world.users[r]) for r in c.recipient_ids],
            "flags": 0,
        }
    data: dict[str, Any] = {
        "id": str(c.id),
        "type": int(c.type),
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": [_overwrite(o) for o in c.permission_overwrites],
        "nsfw": c.nsfw,
        "parent_id": _opt(c.parent_id),
        "flags": 0,
    }
    if c.type in THREAD_TYPES:
        data.pop("permission_overwrites")
        data.pop("position")
        data.update(
            {
                "owner_id": _opt(c.owner_id),
                "last_message_id": _opt(c.last_message_id),
                "rate_limit_per_user": c.rate_limit_per_user,
                "message_count": c.message_count,
                "member_count": 1,
                "total_message_sent": c.message_count,
                "thread_metadata": {
                    "archived": c.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso(snowflake_time(c.id)),
                    "locked": c.locked,
                    "create_timestamp": iso(snowflake_time(c.id)),
                    "invitable": True,
                },
            }
        )
        return data
    if c.type != ChannelType.GUILD_CATEGORY:
        data["last_message_id"] = _opt(c.last_message_id)
        data["rate_limit_per_user"] = c.rate_limit_per_user
    if c.type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT, ChannelType.GUILD_FORUM):
        data["topic"] = c.topic
        data["default_auto_archive_duration"] = 1440
        data["default_thread_rate_limit_per_user"] = 0
    if c.type == ChannelType.GUILD_FORUM:
        data["available_tags"] = []
        data["default_reaction_emoji"] = None
        data["default_sort_order"] = None
        data["default_forum_layout"] = 0
    if c.type in VOICE_TYPES:
        data.update({"bitrate": c.bitrate, "user_limit": c.user_limit, "rtc_region": None, "video_quality_mode": 1})
    return data


def partial_channel(c: Channel, permissions: int) -> dict[str, Any]:
    """The channel object in interaction ``resolved`` data and ``interaction.channel``."""
    data: dict[str, Any] = {
        "id": str(c.id),
        "name": c.name,
        "type": int(c.type),
        "permissions": str(permissions),
        "guild_id": _opt(c.guild_id),
        "parent_id": _opt(c.parent_id),
        "position": c.position,
        "nsfw": c.nsfw,
        "topic": c.topic,
        "flags": 0,
        "permission_overwrites": [_overwrite(o) for o in c.permission_overwrites],
        "last_message_id": _opt(c.last_message_id),
        "rate_limit_per_user": c.rate_limit_per_user,
    }
    if c.type in THREAD_TYPES:
        data["thread_metadata"] = {
            "archived": c.archived,
            "auto_archive_duration": 1440,
            "archive_timestamp": iso(snowflake_time(c.id)),
            "locked": c.locked,
        }
        data["owner_id"] = _opt(c.owner_id)
    if c.type in VOICE_TYPES:
        data.update({"bitrate": c.bitrate, "user_limit": c.user_limit})
    return data


def voice_state(world: World, vs: VoiceState, *, with_member: bool = True) -> dict[str, Any]:
    """A voice state object."""
    data: dict[str, Any] = {
        "guild_id": str(vs.guild_id),
        "channel_id": _opt(vs.channel_id),
        "user_id": str(vs.user_id),
        "session_id": vs.session_id,
        "deaf": False,
        "mute": False,
        "self_deaf": vs.self_deaf,
        "self_mute": vs.self_mute,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
    }
    guild = world.guilds.get(vs.guild_id)
    if with_member and guild is not None and vs.user_id in guild.members:
        data["member"] = member(world, guild.members[vs.user_id])
    return data


def guild_base(g: Guild) -> dict[str, Any]:
    """The guild object fields shared by REST ``GET /guilds/{id}`` and GUILD_CREATE."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": g.icon,
        "icon_hash": g.icon,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(g.owner_id),
        "region": "deprecated",
        "afk_channel_id": str(g.afk_channel_id) if g.afk_channel_id else None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role(r) for r in sorted(g.roles.values(), key=lambda r: r.position)],
        "emojis": [],
        "stickers": [],
        "features": list(g.features),
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": _opt(g.system_channel_id),
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "description": g.description,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": g.preferred_locale,
        "public_updates_channel_id": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
        "incidents_data": None,
    }


def guild_create(
    world: World, g: Guild, *, intents: int, joined: bool = False, large_threshold: int = 250
) -> dict[str, Any]:
    """The GUILD_CREATE payload: the guild with channels, threads, members and voice states.

    At connect time it carries ``unavailable: false`` (the guild becomes available); for a
    guild joined later (``joined``) the key is absent, which is how clients tell the two apart.

    Without the GUILD_MEMBERS intent, or when the guild has more than ``large_threshold``
    members (a "large" guild the client must chunk), the member list holds only the bot and
    members in voice, as Discord does; without GUILD_PRESENCES the presences list is empty.
    """
    data = guild_base(g)
    bot_member = g.members.get(world.bot.id)
    large = len(g.members) > large_threshold
    if intents & INTENT_GUILD_MEMBERS and not large:
        members = list(g.members.values())
    else:
        in_voice = {vs.user_id for vs in g.voice_states.values() if vs.channel_id is not None}
        members = [m for m in g.members.values() if m.user_id == world.bot.id or m.user_id in in_voice]
    data.update(
        {
            "joined_at": iso(bot_member.joined_at if bot_member else None),
            "large": large,
            "unavailable": False,
            "member_count": len(g.members),
            "voice_states": [voice_state(world, vs, with_member=False) for vs in g.voice_states.values()],
            "members": [member(world, m) for m in members],
            "channels": [channel(world, c) for c in g.channels.values() if c.type not in THREAD_TYPES],
            "threads": [channel(world, c) for c in g.channels.values() if c.type in THREAD_TYPES and not c.archived],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }
    )
    if joined:
        data.pop("unavailable")
    if intents & INTENT_GUILD_PRESENCES:
        data["presences"] = [
            {
                "user": {"id": str(m.user_id)},
                "status": "online",
                "activities": [],
                "client_status": {"desktop": "online"},
            }
            for m in members
        ]
    return data


def message(world: World, m: Message, *, content_visible: bool = True) -> dict[str, Any]:
    """A message object; ``content_visible=False`` blanks what MESSAGE_CONTENT protects."""
    author = world.users[m.author_id]
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "type": m.type,
        "author": user(author),
        "content": m.content if content_visible else "",
        "timestamp": iso(snowflake_time(m.id)),
        "edited_timestamp": iso(m.edited_timestamp),
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": [_mention(world, m.guild_id, uid) for uid in m.mentions if uid in world.users],
        "mention_roles": [str(r) for r in m.mention_roles],
        "attachments": list(m.attachments) if content_visible else [],
        "embeds": list(m.embeds) if content_visible else [],
        "components": list(m.components) if content_visible else [],
        "pinned": m.pinned,
        "flags": m.flags,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        guild = world.guilds.get(m.guild_id)
        if guild is not None and m.author_id in guild.members and m.webhook_id is None:
            data["member"] = member(world, guild.members[m.author_id], with_user=False)
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
    if m.application_id is not None:
        data["application_id"] = str(m.application_id)
    if m.message_reference is not None:
        data["message_reference"] = dict(m.message_reference)
        ref_id = m.message_reference.get("message_id")
        ref_channel = int(m.message_reference.get("channel_id", m.channel_id))
        ref = world.messages.get(ref_channel, {}).get(int(ref_id)) if ref_id else None
        data["referenced_message"] = message(world, ref, content_visible=content_visible) if ref else None
    if m.interaction_metadata is not None:
        data["interaction_metadata"] = dict(m.interaction_metadata)
    return data


def application_command(c: AppCommand) -> dict[str, Any]:
    """An application command object."""
    data: dict[str, Any] = {
        "id": str(c.id),
        "application_id": str(c.application_id),
        "version": str(c.version),
        "type": c.type,
        "name": c.name,
        "name_localizations": c.name_localizations,
        "description": c.description,
        "description_localizations": c.description_localizations,
        "default_member_permissions": c.default_member_permissions,
        "dm_permission": c.dm_permission,
        "nsfw": c.nsfw,
        "contexts": c.contexts,
        "integration_types": c.integration_types if c.integration_types is not None else [0],
    }
    if c.options:
        data["options"] = c.options
    if c.guild_id is not None:
        data["guild_id"] = str(c.guild_id)
    return data


def application(world: World) -> dict[str, Any]:
    """The application object for ``/applications/@me`` and ``/oauth2/applications/@me``."""
    return {
        "id": str(world.application_id),
        "name": world.bot.username,
        "icon": None,
        "description": "A bot running against the omo Discord emulator.",
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "bot": user(world.bot),
        "terms_of_service_url": None,
        "privacy_policy_url": None,
        "owner": user(world.owner),
        "summary": "",
        "verify_key": "0" * 64,
        "team": None,
        "guild_id": None,
        "primary_sku_id": None,
        "slug": None,
        "cover_image": None,
        "flags": (1 << 13) | (1 << 15) | (1 << 19),
        "approximate_guild_count": len(world.guilds),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        "integration_types_config": {"0": {}},
        "custom_install_url": None,
    }


def webhook(world: World, w: Webhook, *, with_token: bool = True) -> dict[str, Any]:
    """A webhook object."""
    data: dict[str, Any] = {
        "id": str(w.id),
        "type": w.type,
        "guild_id": _opt(w.guild_id),
        "channel_id": _opt(w.channel_id),
        "name": w.name,
        "avatar": w.avatar,
        "application_id": _opt(w.application_id),
    }
    if w.creator_id is not None:
        data["user"] = user(world.users[w.creator_id])
    if with_token:
        data["token"] = w.token
    return data


def interaction(world: World, inter: Interaction, *, message_payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The INTERACTION_CREATE payload for a stored interaction."""
    chan = world.channels[inter.channel_id]
    data: dict[str, Any] = {
        "id": str(inter.id),
        "application_id": str(world.application_id),
        "type": inter.type,
        "data": inter.data,
        "channel_id": str(inter.channel_id),
        "token": inter.token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(inter.guild_id)} if inter.guild_id else {"1": str(inter.user_id)},
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if inter.guild_id is not None:
        guild = world.guilds[inter.guild_id]
        data["guild_id"] = str(inter.guild_id)
        data["guild_locale"] = guild.preferred_locale
        data["guild"] = {
            "id": str(guild.id),
            "locale": guild.preferred_locale,
            "features": list(guild.features),
        }
        member_data = member(world, guild.members[inter.user_id])
        member_data["permissions"] = str(guild.channel_permissions_of(inter.user_id, inter.channel_id))
        data["member"] = member_data
        data["app_permissions"] = str(guild.channel_permissions_of(world.bot.id, inter.channel_id))
        data["channel"] = partial_channel(chan, int(member_data["permissions"]))
        data["context"] = 0
    else:
        data["user"] = user(world.users[inter.user_id])
        data["channel"] = channel(world, chan)
        data["app_permissions"] = "0"
        data["context"] = 1
    if message_payload is not None:
        data["message"] = message_payload
    return data


def _mention(world: World, guild_id: int | None, user_id: int) -> dict[str, Any]:
    data = user(world.users[user_id])
    if guild_id is not None:
        guild = world.guilds.get(guild_id)
        if guild is not None and user_id in guild.members:
            data["member"] = member(world, guild.members[user_id], with_user=False)
    return data


def _overwrite(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(o["id"]),
        "type": int(o.get("type", 0)),
        "allow": str(o.get("allow", 0)),
        "deny": str(o.get("deny", 0)),
    }


def _opt(value: int | None) -> str | None:
    return str(value) if value is not None else None
