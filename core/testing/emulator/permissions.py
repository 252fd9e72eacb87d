"""Discord permission bits and the rules that combine them.

Implements the algorithm from Discord's "Permissions" documentation: base
permissions from @everyone and the member's roles (owner and ADMINISTRATOR
get everything), then channel overwrites applied in the documented order
(@everyone, roles, member).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
PRIORITY_SPEAKER = 1 << 8
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
VIEW_GUILD_INSIGHTS = 1 << 19
CONNECT = 1 << 20
SPEAK = 1 << 21
MUTE_MEMBERS = 1 << 22
DEAFEN_MEMBERS = 1 << 23
MOVE_MEMBERS = 1 << 24
USE_VAD = 1 << 25
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
MANAGE_GUILD_EXPRESSIONS = 1 << 30
USE_APPLICATION_COMMANDS = 1 << 31
REQUEST_TO_SPEAK = 1 << 32
MANAGE_EVENTS = 1 << 33
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
USE_EXTERNAL_STICKERS = 1 << 37
SEND_MESSAGES_IN_THREADS = 1 << 38
USE_EMBEDDED_ACTIVITIES = 1 << 39
MODERATE_MEMBERS = 1 << 40

ALL = (1 << 51) - 1

#: What Discord gives @everyone in a new guild (the documented default set).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | REQUEST_TO_SPEAK
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | USE_EMBEDDED_ACTIVITIES
)

#: What the emulator grants the bot's managed role: enough to run a typical bot, not ADMINISTRATOR.
DEFAULT_BOT = (
    DEFAULT_EVERYONE
    | MANAGE_ROLES
    | MANAGE_CHANNELS
    | MANAGE_MESSAGES
    | MANAGE_WEBHOOKS
    | MANAGE_THREADS
    | KICK_MEMBERS
    | MODERATE_MEMBERS
    | MANAGE_NICKNAMES
    | MOVE_MEMBERS
)


def base_permissions(*, user_id: int, owner_id: int, everyone_permissions: int, role_permissions: Iterable[int]) -> int:
    """Guild-level permissions of a member: owner and ADMINISTRATOR get every bit."""
    if user_id == owner_id:
        return ALL
    perms = everyone_permissions
    for value in role_permissions:
        perms |= value
    if perms & ADMINISTRATOR:
        return ALL
    return perms


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    user_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[dict[str, Any]],
) -> int:
    """Channel permissions from ``base`` after the channel's permission overwrites.

    ``overwrites`` are Discord-shaped ``{"id", "type", "allow", "deny"}`` dicts
    (type 0 = role, 1 = member; allow/deny as strings or ints).
    """
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    by_id = {int(o["id"]): o for o in overwrites}
    perms = base
    everyone = by_id.get(guild_id)
    if everyone is not None:
        perms &= ~int(everyone["deny"])
        perms |= int(everyone["allow"])
    allow = deny = 0
    for role_id in member_role_ids:
        ow = by_id.get(int(role_id))
        if ow is not None and int(ow.get("type", 0)) == 0:
            allow |= int(ow["allow"])
            deny |= int(ow["deny"])
    perms &= ~deny
    perms |= allow
    member_ow = by_id.get(user_id)
    if member_ow is not None and int(member_ow.get("type", 1)) == 1:
        perms &= ~int(member_ow["deny"])
        perms |= int(member_ow["allow"])
    if not perms & VIEW_CHANNEL:
        return 0
    return perms
