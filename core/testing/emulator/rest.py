"""The emulated REST API (``/api/v10``): routes, auth, validation and Discord's error answers."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
from aiohttp import web

from . import errors, payloads
from . import permissions as P
from .cdn import Attachment
from .errors import DiscordAPIError
from .state import THREAD_TYPES, Channel, ChannelType, Guild, Interaction, Message, User, Webhook

if TYPE_CHECKING:
    from .server import Emulator

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIXES = ("/api/v10", "/api/v9")

MESSAGE_FLAG_EPHEMERAL = 64
MESSAGE_FLAG_LOADING = 128
MESSAGE_FLAG_SUPPRESS_EMBEDS = 4

INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

MENTION_USER = re.compile(r"<@!?(\d+)>")
MENTION_ROLE = re.compile(r"<@&(\d+)>")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json``, as discord.py requires."""
    hdrs = {"Content-Type": "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), status=status, headers=hdrs)


def no_content() -> web.Response:
    """204 No Content."""
    return web.Response(status=204)


def snowflake(value: str) -> int:
    """A path or body snowflake, or 50035 when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.invalid_form_body({"id": ("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')}) from None
    if number < 0:
        raise errors.invalid_form_body({"id": ("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')})
    return number


class RestAPI:
    """All REST routes. Handlers raise ``DiscordAPIError``; the middleware renders it."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world

    # -- wiring ----------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path, handler)`` for every route, paths relative to the API prefix."""
        app = "/applications/{application_id}"
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        return [
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/users/@me", self.get_me),
            ("GET", "/users/@me/guilds", self.get_my_guilds),
            ("POST", "/users/@me/channels", self.create_dm),
            ("DELETE", "/users/@me/guilds/{guild_id}", self.leave_guild),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", app + "/commands", self.list_commands),
            ("PUT", app + "/commands", self.overwrite_commands),
            ("POST", app + "/commands", self.create_command),
            ("GET", app + "/commands/{command_id}", self.get_command),
            ("PATCH", app + "/commands/{command_id}", self.edit_command),
            ("DELETE", app + "/commands/{command_id}", self.delete_command),
            ("GET", app + "/guilds/{guild_id}/commands", self.list_commands),
            ("PUT", app + "/guilds/{guild_id}/commands", self.overwrite_commands),
            ("POST", app + "/guilds/{guild_id}/commands", self.create_command),
            ("GET", app + "/guilds/{guild_id}/commands/permissions", self.command_permissions),
            ("GET", app + "/guilds/{guild_id}/commands/{command_id}", self.get_command),
            ("PATCH", app + "/guilds/{guild_id}/commands/{command_id}", self.edit_command),
            ("DELETE", app + "/guilds/{guild_id}/commands/{command_id}", self.delete_command),
            (
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self.interaction_callback,
            ),
            ("GET", hook + "/messages/{message_id}", self.get_webhook_message),
            ("PATCH", hook + "/messages/{message_id}", self.edit_webhook_message),
            ("DELETE", hook + "/messages/{message_id}", self.delete_webhook_message),
            ("POST", hook, self.execute_webhook),
            ("GET", hook, self.get_webhook_with_token),
            ("GET", "/webhooks/{webhook_id}", self.get_webhook),
            ("DELETE", "/webhooks/{webhook_id}", self.delete_webhook),
            ("POST", "/channels/{channel_id}/webhooks", self.create_webhook),
            ("GET", "/channels/{channel_id}/webhooks", self.channel_webhooks),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("PATCH", "/channels/{channel_id}", self.edit_channel),
            ("DELETE", "/channels/{channel_id}", self.delete_channel),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("POST", "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self.add_reaction),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            ("POST", "/channels/{channel_id}/threads", self.start_thread),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.start_thread),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.guild_channels),
            ("POST", "/guilds/{guild_id}/channels", self.create_guild_channel),
            ("GET", "/guilds/{guild_id}/roles", self.guild_roles),
            ("POST", "/guilds/{guild_id}/roles", self.create_role),
            ("PATCH", "/guilds/{guild_id}/roles/{role_id}", self.edit_role),
            ("DELETE", "/guilds/{guild_id}/roles/{role_id}", self.delete_role),
            ("GET", "/guilds/{guild_id}/members", self.list_members),
            ("PATCH", "/guilds/{guild_id}/members/@me", self.edit_my_member),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ("PATCH", "/guilds/{guild_id}/members/{user_id}", self.edit_member),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}", self.kick_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_member_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.remove_member_role),
        ]

    # -- auth and helpers ------------------------------------------------------------------------------

    def require_bot(self, request: web.Request) -> User:
        """The bot user, when the request carries ``Authorization: Bot <token>``; 401 otherwise."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bot ") and secrets.compare_digest(auth[4:], self.world.bot_token):
            return self.world.bot
        raise errors.unauthorized()

    def _bearer_user(self, request: web.Request, scope: str) -> User | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        grant = self.world.oauth_access.get(auth[7:])
        if grant is None or grant.expires_at < time.time():
            raise errors.unauthorized()
        if scope not in grant.scope:
            raise errors.unauthorized()
        return self.world.users[grant.user_id]

    async def body(self, request: web.Request) -> dict[str, Any]:
        """The JSON (or multipart ``payload_json``) body; 50035 / 50109 when it is not an object."""
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            return await self._multipart(request)
        raw = await request.read()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None
        if not isinstance(data, dict):
            raise errors.invalid_form_body({"_": ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")})
        return data

    async def body_list(self, request: web.Request) -> list[Any]:
        """A JSON array body (bulk overwrite)."""
        raw = await request.read()
        try:
            data = json.loads(raw or b"[]")
        except ValueError:
            raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None
        if not isinstance(data, list):
            raise errors.invalid_form_body({"_": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")})
        return data

    async def _multipart(self, request: web.Request) -> dict[str, Any]:
        reader = await request.multipart()
        payload: dict[str, Any] = {}
        files: list[dict[str, Any]] = []
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "payload_json":
                payload = json.loads(await part.text() or "{}")
            elif part.filename is not None:
                content = await part.read()
                files.append(
                    {
                        "name": part.name,
                        "filename": part.filename,
                        "content": bytes(content),
                        "content_type": part.headers.get("Content-Type", "application/octet-stream"),
                    }
                )
        attachments = []
        declared = {int(a["id"]): a for a in payload.get("attachments", []) if str(a.get("id", "")).isdigit()}
        for index, f in enumerate(files):
            meta = declared.get(index, {})
            upload = Attachment(
                meta.get("filename") or f["filename"], f["content"], f["content_type"], meta.get("description")
            )
            # The message's channel goes into the URL when the message is stored (``build_message``).
            attachments.append(self.emu.cdn.store(upload))
        payload["attachments"] = attachments
        payload["__files__"] = True
        return payload

    def guild_of(self, request: web.Request) -> Guild:
        """The guild named in the path, visible to the bot (10004 otherwise)."""
        guild = self.world.guild(snowflake(request.match_info["guild_id"]))
        if self.world.bot.id not in guild.members:
            raise errors.unknown("guild")
        return guild

    def channel_of(self, request: web.Request) -> Channel:
        """The channel named in the path (10003 if unknown)."""
        return self.world.channel(snowflake(request.match_info["channel_id"]))

    def bot_channel_perms(self, channel: Channel) -> int:
        """The bot's permissions in a channel (everything in a DM)."""
        if channel.guild_id is None:
            return P.ALL
        guild = self.world.guilds[channel.guild_id]
        return guild.channel_permissions_of(self.world.bot.id, channel.id)

    def need(self, channel: Channel, *bits: int) -> None:
        """403 50001 without VIEW_CHANNEL, 403 50013 without any of ``bits``."""
        have = self.bot_channel_perms(channel)
        if not have & P.VIEW_CHANNEL:
            raise errors.missing_access()
        for bit in bits:
            if not have & bit:
                raise errors.missing_permissions()

    def need_guild(self, guild: Guild, *bits: int) -> int:
        """403 50013 unless the bot has every one of ``bits`` in the guild."""
        have = guild.permissions_of(self.world.bot.id)
        for bit in bits:
            if not have & bit:
                raise errors.missing_permissions()
        return have

    # -- gateway, users, application -------------------------------------------------------------------

    async def get_gateway(self, request: web.Request) -> web.Response:
        """GET /gateway."""
        return json_response({"url": self.emu.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """GET /gateway/bot: URL, recommended shards and the identify budget."""
        self.require_bot(request)
        total = 1000
        return json_response(
            {
                "url": self.emu.gateway_url,
                "shards": self.emu.recommended_shards,
                "session_start_limit": {
                    "total": total,
                    "remaining": max(0, total - self.emu.gateway.identifies),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, request: web.Request) -> web.Response:
        """GET /users/@me for the bot or an OAuth2 bearer token (identify scope)."""
        person = self._bearer_user(request, "identify")
        if person is not None:
            data = payloads.current_user(person)
            grant = self.world.oauth_access[request.headers["Authorization"][7:]]
            data["email"] = person.email if "email" in grant.scope else None
            return json_response(data)
        return json_response(payloads.current_user(self.require_bot(request)))

    async def get_my_guilds(self, request: web.Request) -> web.Response:
        """GET /users/@me/guilds: partial guilds with ``owner`` and ``permissions`` (a string)."""
        person = self._bearer_user(request, "guilds")
        if person is None:
            person = self.require_bot(request)
        out: list[dict[str, Any]] = []
        for guild in self.world.guilds.values():
            if person.id not in guild.members:
                continue
            out.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": guild.icon,
                    "banner": None,
                    "owner": guild.owner_id == person.id,
                    "permissions": str(guild.permissions_of(person.id)),
                    "features": list(guild.features),
                    "approximate_member_count": len(guild.members),
                    "approximate_presence_count": 0,
                }
            )
        out.sort(key=lambda g: int(g["id"]))
        return json_response(out)

    async def get_user(self, request: web.Request) -> web.Response:
        """GET /users/{id}."""
        self.require_bot(request)
        return json_response(payloads.user(self.world.user(snowflake(request.match_info["user_id"]))))

    async def create_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels: open a DM with a user."""
        self.require_bot(request)
        body = await self.body(request)
        target = self.world.user(snowflake(body.get("recipient_id", "")))
        return json_response(payloads.channel(self.world, self.world.dm_channel(target)))

    async def leave_guild(self, request: web.Request) -> web.Response:
        """DELETE /users/@me/guilds/{id}: the bot leaves."""
        self.require_bot(request)
        guild = self.guild_of(request)
        guild.members.pop(self.world.bot.id, None)
        self.emu.record("guild.leave", guild_id=guild.id)
        self.emu.events.guild_delete(guild)
        return no_content()

    async def get_application(self, request: web.Request) -> web.Response:
        """GET /applications/@me and /oauth2/applications/@me."""
        self.require_bot(request)
        return json_response(payloads.application(self.world))

    # -- application commands --------------------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> int | None:
        self.require_bot(request)
        if snowflake(request.match_info["application_id"]) != self.world.application_id:
            raise DiscordAPIError(403, 50001, "Missing Access")
        if "guild_id" in request.match_info:
            return self.guild_of(request).id
        return None

    def _validate_command(self, data: Any, index: str = "") -> dict[str, Any]:
        prefix = f"{index}." if index else ""
        if not isinstance(data, dict):
            raise errors.invalid_form_body({f"{prefix}_": ("DICT_TYPE_CONVERT", "Only dictionaries may be used")})
        ctype = int(data.get("type", 1))
        name = data.get("name")
        problems: dict[str, tuple[str, str]] = {}
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            problems[f"{prefix}name"] = ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        elif (ctype == 1 and not re.fullmatch(r"[-_'\w]{1,32}", name)) or (ctype == 1 and name != name.lower()):
            problems[f"{prefix}name"] = ("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        description = data.get("description", "")
        if ctype == 1 and (not isinstance(description, str) or not 1 <= len(description) <= 100):
            problems[f"{prefix}description"] = (
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        options = data.get("options") or []
        if len(options) > 25:
            problems[f"{prefix}options"] = ("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if problems:
            raise errors.invalid_form_body(problems)
        return data

    def _store_command(self, data: dict[str, Any], guild_id: int | None, existing_id: int | None = None) -> Any:
        from .state import AppCommand

        self.world.command_version += 1
        perms_value = data.get("default_member_permissions")
        cmd = AppCommand(
            id=existing_id or self.world.new_id(),
            application_id=self.world.application_id,
            name=data["name"],
            type=int(data.get("type", 1)),
            description=data.get("description", "") or "",
            options=list(data.get("options") or []),
            guild_id=guild_id,
            default_member_permissions=str(perms_value) if perms_value is not None else None,
            dm_permission=data.get("dm_permission", True) if guild_id is None else None,
            nsfw=bool(data.get("nsfw", False)),
            contexts=data.get("contexts"),
            integration_types=data.get("integration_types"),
            name_localizations=data.get("name_localizations"),
            description_localizations=data.get("description_localizations"),
            version=self.world.new_id(),
        )
        self.world.commands[cmd.id] = cmd
        return cmd

    async def list_commands(self, request: web.Request) -> web.Response:
        """GET commands (global or guild)."""
        scope = self._command_scope(request)
        return json_response([payloads.application_command(c) for c in self.world.commands_for(scope)])

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        """PUT commands: bulk overwrite; commands keep their id when name and type match."""
        scope = self._command_scope(request)
        items = await self.body_list(request)
        if len(items) > 110:
            raise errors.invalid_form_body({"_": ("BASE_TYPE_MAX_LENGTH", "Must be 110 or fewer in length.")})
        for i, item in enumerate(items):
            self._validate_command(item, str(i))
        seen: set[tuple[str, int]] = set()
        for i, item in enumerate(items):
            key = (item["name"], int(item.get("type", 1)))
            if key in seen:
                raise errors.invalid_form_body(
                    {
                        str(i) + ".name": (
                            "APPLICATION_COMMANDS_DUPLICATE_NAME",
                            "Application command names must be unique",
                        )
                    }
                )
            seen.add(key)
        old = {(c.name, c.type): c for c in self.world.commands_for(scope)}
        for cmd in old.values():
            self.world.commands.pop(cmd.id, None)
        stored = []
        for item in items:
            previous = old.get((item["name"], int(item.get("type", 1))))
            stored.append(self._store_command(item, scope, previous.id if previous else None))
        self.emu.record("commands.overwrite", guild_id=scope, names=[c.name for c in stored])
        return json_response([payloads.application_command(c) for c in stored])

    async def create_command(self, request: web.Request) -> web.Response:
        """POST command: create, or replace one with the same name (200 then, 201 when new)."""
        scope = self._command_scope(request)
        data = self._validate_command(await self.body(request))
        existing = self.world.find_command(data["name"], scope, int(data.get("type", 1)))
        if existing is not None and existing.guild_id != scope:
            existing = None
        if existing is not None:
            self.world.commands.pop(existing.id, None)
        cmd = self._store_command(data, scope, existing.id if existing else None)
        self.emu.record("command.create", guild_id=scope, name=cmd.name, command_id=cmd.id)
        return json_response(payloads.application_command(cmd), status=200 if existing else 201)

    async def get_command(self, request: web.Request) -> web.Response:
        """GET one command."""
        scope = self._command_scope(request)
        cmd = self.world.command(snowflake(request.match_info["command_id"]), scope)
        return json_response(payloads.application_command(cmd))

    async def edit_command(self, request: web.Request) -> web.Response:
        """PATCH one command."""
        scope = self._command_scope(request)
        cmd = self.world.command(snowflake(request.match_info["command_id"]), scope)
        body = await self.body(request)
        merged = payloads.application_command(cmd)
        merged.update(body)
        self._validate_command(merged)
        self.world.commands.pop(cmd.id, None)
        new = self._store_command(merged, scope, cmd.id)
        self.emu.record("command.edit", guild_id=scope, name=new.name, command_id=new.id)
        return json_response(payloads.application_command(new))

    async def delete_command(self, request: web.Request) -> web.Response:
        """DELETE one command."""
        scope = self._command_scope(request)
        cmd = self.world.command(snowflake(request.match_info["command_id"]), scope)
        self.world.commands.pop(cmd.id, None)
        self.emu.record("command.delete", guild_id=scope, name=cmd.name, command_id=cmd.id)
        return no_content()

    async def command_permissions(self, request: web.Request) -> web.Response:
        """GET guild command permissions (none are set in the emulator)."""
        self._command_scope(request)
        return json_response([])

    # -- messages --------------------------------------------------------------------------------------

    def validate_message(self, body: dict[str, Any], *, creating: bool) -> None:
        """Discord's message body rules: length limits, embeds, references, not empty."""
        problems: dict[str, tuple[str, str]] = {}
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            content = str(content)
            body["content"] = content
        if content is not None and len(content) > 2000:
            problems["content"] = ("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds = body.get("embeds")
        if embeds is not None:
            if not isinstance(embeds, list) or len(embeds) > 10:
                problems["embeds"] = ("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
            else:
                total = 0
                for i, embed in enumerate(embeds):
                    if not isinstance(embed, dict):
                        problems[f"embeds.{i}"] = ("DICT_TYPE_CONVERT", "Only dictionaries may be used")
                        continue
                    if len(str(embed.get("title") or "")) > 256:
                        problems[f"embeds.{i}.title"] = (
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 256 or fewer in length.",
                        )
                    if len(str(embed.get("description") or "")) > 4096:
                        problems[f"embeds.{i}.description"] = (
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 4096 or fewer in length.",
                        )
                    if len(embed.get("fields") or []) > 25:
                        problems[f"embeds.{i}.fields"] = (
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 25 or fewer in length.",
                        )
                    total += len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
                    for field in embed.get("fields") or []:
                        total += len(str(field.get("name", ""))) + len(str(field.get("value", "")))
                if total > 6000:
                    problems["embeds"] = (
                        "MAX_EMBED_SIZE_EXCEEDED",
                        "Embed size exceeds maximum size of 6000",
                    )
        components = body.get("components")
        if components is not None and (not isinstance(components, list) or len(components) > 40):
            problems["components"] = ("BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
        if problems:
            raise errors.invalid_form_body(problems)
        if creating and not (
            content or embeds or body.get("sticker_ids") or components or body.get("attachments") or body.get("poll")
        ):
            raise errors.empty_message()

    def _mentions(self, channel: Channel, content: str, allowed: dict[str, Any] | None) -> tuple[list[int], list[int]]:
        users = [int(u) for u in MENTION_USER.findall(content) if int(u) in self.world.users]
        roles = [int(r) for r in MENTION_ROLE.findall(content)]
        if channel.guild_id is not None:
            roles = [r for r in roles if r in self.world.guilds[channel.guild_id].roles]
        if allowed is not None:
            parse = allowed.get("parse", [])
            allowed_users = {int(u) for u in allowed.get("users", [])}
            allowed_roles = {int(r) for r in allowed.get("roles", [])}
            users = [u for u in users if "users" in parse or u in allowed_users]
            roles = [r for r in roles if "roles" in parse or r in allowed_roles]
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles))

    def build_message(self, channel: Channel, author: User, body: dict[str, Any], **extra: Any) -> Message:
        """Store a message from a validated body (REST create, webhook, interaction response)."""
        content = body.get("content") or ""
        users, roles = self._mentions(channel, content, body.get("allowed_mentions"))
        reference = body.get("message_reference")
        if reference is not None:
            ref_channel = int(reference.get("channel_id") or channel.id)
            ref_id = reference.get("message_id")
            exists = ref_id is not None and int(ref_id) in self.world.messages.get(ref_channel, {})
            if not exists and reference.get("fail_if_not_exists", True):
                raise errors.invalid_form_body(
                    {"message_reference": ("MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")}
                )
            reference = {
                "type": int(reference.get("type", 0)),
                "message_id": str(ref_id),
                "channel_id": str(ref_channel),
                "guild_id": str(channel.guild_id) if channel.guild_id else None,
            }
            if not exists:
                reference = None
            elif reference and (body.get("allowed_mentions") or {}).get("replied_user", True):
                replied = self.world.messages[ref_channel][int(ref_id)]
                if replied.author_id not in users:
                    users.append(replied.author_id)
        flags = int(body.get("flags") or 0)
        extra.setdefault("type", 19 if reference else 0)
        msg = self.world.add_message(
            channel,
            author,
            content=content,
            embeds=[_normalise_embed(e) for e in body.get("embeds") or []],
            components=list(body.get("components") or []),
            attachments=list(body.get("attachments") or []) if body.get("__files__") else [],
            flags=flags,
            tts=bool(body.get("tts", False)),
            message_reference=reference,
            mentions=users,
            mention_roles=roles,
            mention_everyone="@everyone" in content
            and (body.get("allowed_mentions") is None or "everyone" in body["allowed_mentions"].get("parse", [])),
            nonce=body.get("nonce"),
            **extra,
        )
        self.emu.cdn.bind(msg)
        return msg

    def apply_edit(self, msg: Message, body: dict[str, Any]) -> None:
        """Apply a message PATCH body."""
        self.validate_message(body, creating=False)
        if "content" in body:
            msg.content = body["content"] or ""
            channel = self.world.channels[msg.channel_id]
            msg.mentions, msg.mention_roles = self._mentions(channel, msg.content, body.get("allowed_mentions"))
        if "embeds" in body:
            msg.embeds = [_normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            msg.components = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            keep = msg.flags & MESSAGE_FLAG_EPHEMERAL
            msg.flags = (int(body["flags"]) & MESSAGE_FLAG_SUPPRESS_EMBEDS) | keep
        if "attachments" in body:
            if body.get("__files__"):
                msg.attachments = list(body["attachments"])
            else:
                keep_ids = {str(a.get("id")) for a in body["attachments"] or []}
                msg.attachments = [a for a in msg.attachments if str(a["id"]) in keep_ids]
            self.emu.cdn.bind(msg)
        msg.flags &= ~MESSAGE_FLAG_LOADING
        from .state import now

        msg.edited_timestamp = now()

    async def list_messages(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages with limit/before/after/around, newest first."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.READ_MESSAGE_HISTORY)
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            raise errors.invalid_form_body({"limit": ("NUMBER_TYPE_COERCE", "Value is not int.")}) from None
        if not 1 <= limit <= 100:
            raise errors.invalid_form_body({"limit": ("NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1.")})
        msgs = sorted(
            (m for m in self.world.messages.get(channel.id, {}).values() if not m.deleted and not m.ephemeral),
            key=lambda m: m.id,
            reverse=True,
        )
        if "before" in request.query:
            before = snowflake(request.query["before"])
            msgs = [m for m in msgs if m.id < before][:limit]
        elif "after" in request.query:
            after = snowflake(request.query["after"])
            msgs = sorted((m for m in msgs if m.id > after), key=lambda m: m.id)[:limit]
            msgs.reverse()
        elif "around" in request.query:
            around = snowflake(request.query["around"])
            older = [m for m in msgs if m.id <= around][: (limit + 1) // 2]
            newer = [m for m in reversed(msgs) if m.id > around][: limit // 2]
            msgs = list(reversed(newer)) + older
        else:
            msgs = msgs[:limit]
        return json_response([payloads.message(self.world, m) for m in msgs])

    async def get_message(self, request: web.Request) -> web.Response:
        """GET one message."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.READ_MESSAGE_HISTORY)
        msg = self.world.message(channel.id, snowflake(request.match_info["message_id"]))
        return json_response(payloads.message(self.world, msg))

    async def create_message(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages as the bot."""
        bot = self.require_bot(request)
        channel = self.channel_of(request)
        if channel.type == ChannelType.GUILD_CATEGORY or channel.type == ChannelType.GUILD_FORUM:
            raise DiscordAPIError(400, 50008, "Cannot send messages in a non-text channel")
        send_bit = P.SEND_MESSAGES_IN_THREADS if channel.type in THREAD_TYPES else P.SEND_MESSAGES
        self.need(channel, send_bit)
        body = await self.body(request)
        self.validate_message(body, creating=True)
        if body.get("embeds") and not self.bot_channel_perms(channel) & P.EMBED_LINKS:
            body["embeds"] = []
        msg = self.build_message(channel, bot, body)
        self.emu.record("message.create", channel_id=channel.id, message_id=msg.id, content=msg.content)
        self.emu.events.message_create(msg)
        return json_response(payloads.message(self.world, msg))

    async def edit_message(self, request: web.Request) -> web.Response:
        """PATCH a message: only the author may change content (50005 otherwise)."""
        bot = self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel)
        msg = self.world.message(channel.id, snowflake(request.match_info["message_id"]))
        body = await self.body(request)
        if msg.author_id != bot.id and set(body) - {"flags"}:
            raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        self.apply_edit(msg, body)
        self.emu.record("message.edit", channel_id=channel.id, message_id=msg.id, content=msg.content)
        self.emu.events.message_update(msg)
        return json_response(payloads.message(self.world, msg))

    async def delete_message(self, request: web.Request) -> web.Response:
        """DELETE a message: own messages, or anyone's with MANAGE_MESSAGES."""
        bot = self.require_bot(request)
        channel = self.channel_of(request)
        msg = self.world.message(channel.id, snowflake(request.match_info["message_id"]))
        if msg.author_id != bot.id:
            self.need(channel, P.MANAGE_MESSAGES)
        msg.deleted = True
        self.emu.record("message.delete", channel_id=channel.id, message_id=msg.id)
        self.emu.events.message_delete(msg)
        return no_content()

    async def bulk_delete(self, request: web.Request) -> web.Response:
        """POST bulk-delete: 2 to 100 message ids, MANAGE_MESSAGES."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.MANAGE_MESSAGES)
        body = await self.body(request)
        ids = [snowflake(i) for i in body.get("messages", [])]
        if not 2 <= len(ids) <= 100:
            raise errors.invalid_form_body(
                {"messages": ("BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")}
            )
        for mid in ids:
            msg = self.world.messages.get(channel.id, {}).get(mid)
            if msg is not None:
                msg.deleted = True
        self.emu.record("message.bulk_delete", channel_id=channel.id, message_ids=ids)
        self.emu.events.message_delete_bulk(channel, ids)
        return no_content()

    async def add_reaction(self, request: web.Request) -> web.Response:
        """PUT a reaction as the bot (recorded; reactions are not modelled further)."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.READ_MESSAGE_HISTORY, P.ADD_REACTIONS)
        msg = self.world.message(channel.id, snowflake(request.match_info["message_id"]))
        self.emu.record("reaction.add", channel_id=channel.id, message_id=msg.id, emoji=request.match_info["emoji"])
        return no_content()

    async def start_thread(self, request: web.Request) -> web.Response:
        """POST a thread in a channel, or from a message (public; the thread gets the message id)."""
        bot = self.require_bot(request)
        channel = self.channel_of(request)
        if channel.guild_id is None or channel.type not in (
            ChannelType.GUILD_TEXT,
            ChannelType.GUILD_ANNOUNCEMENT,
        ):
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        body = await self.body(request)
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise errors.invalid_form_body({"name": ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")})
        from_message = "message_id" in request.match_info
        ctype = ChannelType(int(body.get("type", ChannelType.PUBLIC_THREAD)))
        if from_message:
            ctype = ChannelType.PUBLIC_THREAD
        needed = P.CREATE_PRIVATE_THREADS if ctype == ChannelType.PRIVATE_THREAD else P.CREATE_PUBLIC_THREADS
        self.need(channel, needed)
        if ctype not in THREAD_TYPES:
            raise errors.invalid_form_body({"type": ("BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}.")})
        guild = self.world.guilds[channel.guild_id]
        thread = self.world.create_channel(guild, name, ctype, parent_id=channel.id, owner_id=bot.id)
        if from_message:
            msg = self.world.message(channel.id, snowflake(request.match_info["message_id"]))
            # Discord gives a thread started from a message the message's id.
            guild.channels.pop(thread.id)
            self.world.channels.pop(thread.id)
            self.world.messages.pop(thread.id, None)
            thread.id = msg.id
            guild.channels[thread.id] = thread
            self.world.channels[thread.id] = thread
            self.world.messages[thread.id] = {}
        self.emu.record("thread.create", channel_id=channel.id, thread_id=thread.id, name=name)
        self.emu.events.channel("CHANNEL_CREATE", thread)
        return json_response(payloads.channel(self.world, thread), status=201)

    async def typing(self, request: web.Request) -> web.Response:
        """POST typing indicator."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.SEND_MESSAGES)
        self.emu.record("typing", channel_id=channel.id)
        return no_content()

    # -- channels --------------------------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        """GET /channels/{id}."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel)
        return json_response(payloads.channel(self.world, channel))

    async def edit_channel(self, request: web.Request) -> web.Response:
        """PATCH /channels/{id}: name, topic, nsfw, parent, slowmode, overwrites (MANAGE_CHANNELS)."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.MANAGE_CHANNELS if channel.type not in THREAD_TYPES else P.MANAGE_THREADS)
        body = await self.body(request)
        for key in (
            "name",
            "topic",
            "nsfw",
            "rate_limit_per_user",
            "bitrate",
            "user_limit",
            "archived",
            "locked",
        ):
            if key in body:
                setattr(channel, key, body[key])
        if "parent_id" in body:
            channel.parent_id = int(body["parent_id"]) if body["parent_id"] else None
        if "permission_overwrites" in body:
            channel.permission_overwrites = list(body["permission_overwrites"] or [])
        self.emu.record("channel.edit", channel_id=channel.id, changes=body)
        self.emu.events.channel("CHANNEL_UPDATE", channel)
        return json_response(payloads.channel(self.world, channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id} (MANAGE_CHANNELS)."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.MANAGE_CHANNELS if channel.type not in THREAD_TYPES else P.MANAGE_THREADS)
        data = payloads.channel(self.world, channel)
        if channel.guild_id is not None:
            self.world.guilds[channel.guild_id].channels.pop(channel.id, None)
        self.world.channels.pop(channel.id, None)
        self.emu.record("channel.delete", channel_id=channel.id)
        self.emu.events.channel("CHANNEL_DELETE", channel)
        return json_response(data)

    async def guild_channels(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/channels (threads excluded, like Discord)."""
        self.require_bot(request)
        guild = self.guild_of(request)
        return json_response(
            [payloads.channel(self.world, c) for c in guild.channels.values() if c.type not in THREAD_TYPES]
        )

    async def create_guild_channel(self, request: web.Request) -> web.Response:
        """POST /guilds/{id}/channels (MANAGE_CHANNELS)."""
        self.require_bot(request)
        guild = self.guild_of(request)
        self.need_guild(guild, P.MANAGE_CHANNELS)
        body = await self.body(request)
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise errors.invalid_form_body({"name": ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")})
        try:
            ctype = ChannelType(int(body.get("type", 0)))
        except ValueError:
            raise errors.invalid_form_body(
                {"type": ("BASE_TYPE_CHOICES", "Value must be one of valid types.")}
            ) from None
        parent = int(body["parent_id"]) if body.get("parent_id") else None
        channel = self.world.create_channel(
            guild,
            name,
            ctype,
            parent_id=parent,
            topic=body.get("topic"),
            permission_overwrites=body.get("permission_overwrites"),
        )
        self.emu.record("channel.create", guild_id=guild.id, channel_id=channel.id, name=name)
        self.emu.events.channel("CHANNEL_CREATE", channel)
        return json_response(payloads.channel(self.world, channel), status=201)

    # -- guilds, roles, members ------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        """GET /guilds/{id} (``with_counts`` adds approximate counts)."""
        self.require_bot(request)
        guild = self.guild_of(request)
        data = payloads.guild_base(guild)
        if request.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return json_response(data)

    async def guild_roles(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/roles."""
        self.require_bot(request)
        guild = self.guild_of(request)
        return json_response([payloads.role(r) for r in sorted(guild.roles.values(), key=lambda r: r.position)])

    async def create_role(self, request: web.Request) -> web.Response:
        """POST /guilds/{id}/roles: MANAGE_ROLES, and only permissions the bot itself has."""
        self.require_bot(request)
        guild = self.guild_of(request)
        have = self.need_guild(guild, P.MANAGE_ROLES)
        body = await self.body(request)
        permissions = int(body.get("permissions") or 0)
        if permissions & ~have:
            raise errors.missing_permissions()
        role = self.world.create_role(
            guild,
            str(body.get("name") or "new role"),
            permissions=permissions,
            color=int(body.get("color") or 0),
            hoist=bool(body.get("hoist")),
            mentionable=bool(body.get("mentionable")),
        )
        self.emu.record("role.create", guild_id=guild.id, role_id=role.id, name=role.name)
        self.emu.events.role("GUILD_ROLE_CREATE", guild, role)
        return json_response(payloads.role(role))

    def _check_role_manageable(self, guild: Guild, role_id: int) -> Any:
        self.need_guild(guild, P.MANAGE_ROLES)
        role = guild.role(role_id)
        if role.position >= guild.highest_position(self.world.bot.id) or role.id == guild.id:
            raise errors.missing_permissions()
        return role

    async def edit_role(self, request: web.Request) -> web.Response:
        """PATCH a role below the bot's highest role."""
        self.require_bot(request)
        guild = self.guild_of(request)
        role = self._check_role_manageable(guild, snowflake(request.match_info["role_id"]))
        body = await self.body(request)
        for key in ("name", "color", "hoist", "mentionable"):
            if key in body and body[key] is not None:
                setattr(role, key, body[key])
        if "permissions" in body and body["permissions"] is not None:
            role.permissions = int(body["permissions"])
        self.emu.record("role.edit", guild_id=guild.id, role_id=role.id, changes=body)
        self.emu.events.role("GUILD_ROLE_UPDATE", guild, role)
        return json_response(payloads.role(role))

    async def delete_role(self, request: web.Request) -> web.Response:
        """DELETE a role below the bot's highest role."""
        self.require_bot(request)
        guild = self.guild_of(request)
        role = self._check_role_manageable(guild, snowflake(request.match_info["role_id"]))
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        self.emu.record("role.delete", guild_id=guild.id, role_id=role.id)
        self.emu.events.role("GUILD_ROLE_DELETE", guild, role)
        return no_content()

    async def list_members(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/members (limit 1-1000, after): needs the GUILD_MEMBERS intent on Discord."""
        self.require_bot(request)
        guild = self.guild_of(request)
        limit = int(request.query.get("limit", "1"))
        if not 1 <= limit <= 1000:
            raise errors.invalid_form_body({"limit": ("NUMBER_TYPE_MAX", "int value should be <= 1000 and >= 1.")})
        after = int(request.query.get("after", "0"))
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return json_response([payloads.member(self.world, m) for m in members[:limit]])

    async def get_member(self, request: web.Request) -> web.Response:
        """GET one member."""
        self.require_bot(request)
        guild = self.guild_of(request)
        member = guild.member(snowflake(request.match_info["user_id"]))
        return json_response(payloads.member(self.world, member))

    def _change_roles(self, guild: Guild, user_id: int, add: set[int], remove: set[int]) -> None:
        self.need_guild(guild, P.MANAGE_ROLES)
        top = guild.highest_position(self.world.bot.id)
        for role_id in add | remove:
            role = guild.role(role_id)
            if role.managed or role.id == guild.id or role.position >= top:
                raise errors.missing_permissions()
        member = guild.member(user_id)
        for role_id in add:
            if role_id not in member.roles:
                member.roles.append(role_id)
        for role_id in remove:
            if role_id in member.roles:
                member.roles.remove(role_id)

    async def add_member_role(self, request: web.Request) -> web.Response:
        """PUT a role on a member: MANAGE_ROLES and a role below the bot's highest (403 50013 otherwise)."""
        self.require_bot(request)
        guild = self.guild_of(request)
        user_id = snowflake(request.match_info["user_id"])
        role_id = snowflake(request.match_info["role_id"])
        guild.member(user_id)
        self._change_roles(guild, user_id, {role_id}, set())
        self.emu.record("role.add", guild_id=guild.id, user_id=user_id, role_id=role_id)
        self.emu.events.member_update(guild, guild.members[user_id])
        return no_content()

    async def remove_member_role(self, request: web.Request) -> web.Response:
        """DELETE a role from a member, with the same rules as adding."""
        self.require_bot(request)
        guild = self.guild_of(request)
        user_id = snowflake(request.match_info["user_id"])
        role_id = snowflake(request.match_info["role_id"])
        guild.member(user_id)
        self._change_roles(guild, user_id, set(), {role_id})
        self.emu.record("role.remove", guild_id=guild.id, user_id=user_id, role_id=role_id)
        self.emu.events.member_update(guild, guild.members[user_id])
        return no_content()

    async def edit_member(self, request: web.Request) -> web.Response:
        """PATCH a member: ``roles`` (MANAGE_ROLES, hierarchy) and ``nick`` (MANAGE_NICKNAMES, hierarchy)."""
        self.require_bot(request)
        guild = self.guild_of(request)
        user_id = snowflake(request.match_info["user_id"])
        member = guild.member(user_id)
        body = await self.body(request)
        if "roles" in body:
            wanted = {int(r) for r in body["roles"] or []}
            current = set(member.roles)
            self._change_roles(guild, user_id, wanted - current, current - wanted)
        if "nick" in body:
            if user_id != self.world.bot.id:
                self.need_guild(guild, P.MANAGE_NICKNAMES)
                if guild.highest_position(user_id) >= guild.highest_position(self.world.bot.id):
                    raise errors.missing_permissions()
            member.nick = body["nick"] or None
        for key in ("mute", "deaf"):
            if key in body:
                setattr(member, key, bool(body[key]))
        self.emu.record("member.edit", guild_id=guild.id, user_id=user_id, changes=body)
        self.emu.events.member_update(guild, member)
        return json_response(payloads.member(self.world, member))

    async def edit_my_member(self, request: web.Request) -> web.Response:
        """PATCH /guilds/{id}/members/@me (the bot's nick)."""
        self.require_bot(request)
        guild = self.guild_of(request)
        body = await self.body(request)
        member = guild.members[self.world.bot.id]
        if "nick" in body:
            member.nick = body["nick"] or None
        self.emu.record("member.edit", guild_id=guild.id, user_id=self.world.bot.id, changes=body)
        self.emu.events.member_update(guild, member)
        return json_response(payloads.member(self.world, member))

    async def kick_member(self, request: web.Request) -> web.Response:
        """DELETE a member (kick): KICK_MEMBERS and hierarchy."""
        self.require_bot(request)
        guild = self.guild_of(request)
        user_id = snowflake(request.match_info["user_id"])
        guild.member(user_id)
        self.need_guild(guild, P.KICK_MEMBERS)
        if guild.highest_position(user_id) >= guild.highest_position(self.world.bot.id):
            raise errors.missing_permissions()
        guild.members.pop(user_id)
        self.emu.record("member.kick", guild_id=guild.id, user_id=user_id)
        self.emu.events.member_remove(guild, user_id)
        return no_content()

    # -- webhooks --------------------------------------------------------------------------------------

    async def create_webhook(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/webhooks (MANAGE_WEBHOOKS)."""
        bot = self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.MANAGE_WEBHOOKS)
        body = await self.body(request)
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 80 or "clyde" in name.lower():
            raise errors.invalid_form_body({"name": ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")})
        hook = Webhook(
            id=self.world.new_id(),
            token=secrets.token_urlsafe(48),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            name=name,
            application_id=self.world.application_id,
            creator_id=bot.id,
        )
        self.world.webhooks[hook.id] = hook
        self.world.users[hook.id] = User(id=hook.id, username=name, bot=True, discriminator="0000")
        self.emu.record("webhook.create", channel_id=channel.id, webhook_id=hook.id)
        return json_response(payloads.webhook(self.world, hook))

    async def channel_webhooks(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/webhooks (MANAGE_WEBHOOKS)."""
        self.require_bot(request)
        channel = self.channel_of(request)
        self.need(channel, P.MANAGE_WEBHOOKS)
        return json_response(
            [payloads.webhook(self.world, h) for h in self.world.webhooks.values() if h.channel_id == channel.id]
        )

    async def get_webhook(self, request: web.Request) -> web.Response:
        """GET /webhooks/{id} with the bot token."""
        self.require_bot(request)
        hook = self.world.webhooks.get(snowflake(request.match_info["webhook_id"]))
        if hook is None:
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        return json_response(payloads.webhook(self.world, hook))

    async def delete_webhook(self, request: web.Request) -> web.Response:
        """DELETE /webhooks/{id}."""
        self.require_bot(request)
        hook = self.world.webhooks.pop(snowflake(request.match_info["webhook_id"]), None)
        if hook is None:
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        self.emu.record("webhook.delete", webhook_id=hook.id)
        return no_content()

    async def get_webhook_with_token(self, request: web.Request) -> web.Response:
        """GET /webhooks/{id}/{token} (no bot token needed)."""
        target = self._webhook_target(request)
        if isinstance(target, Interaction):
            raise DiscordAPIError(404, 10015, "Unknown Webhook")
        return json_response(payloads.webhook(self.world, target, with_token=False))

    def _webhook_target(self, request: web.Request) -> Webhook | Interaction:
        return self.world.webhook_by_token(
            snowflake(request.match_info["webhook_id"]), request.match_info["webhook_token"]
        )

    def _webhook_message(self, request: web.Request, target: Webhook | Interaction) -> Message:
        raw = request.match_info["message_id"]
        if raw == "@original":
            if not isinstance(target, Interaction) or target.original_message_id is None:
                raise errors.unknown("message")
            return self.world.find_message(target.original_message_id)
        msg = self.world.find_message(snowflake(raw))
        if isinstance(target, Interaction):
            allowed = {target.original_message_id, *target.followup_ids}
            if msg.id not in allowed:
                raise errors.unknown("message")
        elif msg.webhook_id != target.id:
            raise errors.unknown("message")
        return msg

    async def execute_webhook(self, request: web.Request) -> web.Response:
        """POST /webhooks/{id}/{token}: a channel webhook message, or an interaction follow-up."""
        target = self._webhook_target(request)
        body = await self.body(request)
        self.validate_message(body, creating=True)
        wait = request.query.get("wait", "false").lower() in ("true", "1")
        if isinstance(target, Interaction):
            if target.callback_type is None:
                raise DiscordAPIError(404, 10015, "Unknown Webhook")
            channel = self.world.channels[target.channel_id]
            msg = self.build_message(channel, self.world.bot, body, **self.emu.interaction_message_fields(target))
            msg.flags = int(body.get("flags") or 0) & (MESSAGE_FLAG_EPHEMERAL | MESSAGE_FLAG_SUPPRESS_EMBEDS)
            if target.callback_type == 5 and target.original_message_id is not None:
                original = self.world.find_message(target.original_message_id)
                if original.flags & MESSAGE_FLAG_LOADING:
                    # The first follow-up after a deferred response edits the "thinking" message.
                    original.deleted = True
                    msg.flags |= original.flags & MESSAGE_FLAG_EPHEMERAL
                    target.original_message_id = msg.id
            target.followup_ids.append(msg.id)
            self.emu.record(
                "interaction.followup",
                interaction_id=target.id,
                message_id=msg.id,
                content=msg.content,
                ephemeral=msg.ephemeral,
            )
            self.emu.events.message_create(msg)
            target.notify("followup")
            return json_response(payloads.message(self.world, msg))
        channel = self.world.channel(target.channel_id or 0)
        thread_id = request.query.get("thread_id")
        if thread_id:
            channel = self.world.channel(snowflake(thread_id))
        author = self.world.users[target.id]
        if body.get("username"):
            author = User(id=target.id, username=str(body["username"]), bot=True, discriminator="0000")
            self.world.users[target.id] = author
        msg = self.build_message(channel, author, body, webhook_id=target.id, application_id=target.application_id)
        self.emu.record(
            "webhook.execute",
            webhook_id=target.id,
            channel_id=channel.id,
            message_id=msg.id,
            content=msg.content,
        )
        self.emu.events.message_create(msg)
        if wait:
            return json_response(payloads.message(self.world, msg))
        return no_content()

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        """GET a webhook message (``@original`` for an interaction's response)."""
        target = self._webhook_target(request)
        return json_response(payloads.message(self.world, self._webhook_message(request, target)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        """PATCH a webhook message, e.g. the interaction's ``@original`` after deferring."""
        target = self._webhook_target(request)
        msg = self._webhook_message(request, target)
        body = await self.body(request)
        self.apply_edit(msg, body)
        kind = "interaction.original.edit" if isinstance(target, Interaction) else "webhook.edit"
        self.emu.record(kind, message_id=msg.id, content=msg.content, ephemeral=msg.ephemeral)
        self.emu.events.message_update(msg)
        if isinstance(target, Interaction):
            target.notify("edit")
        return json_response(payloads.message(self.world, msg))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        """DELETE a webhook message."""
        target = self._webhook_target(request)
        msg = self._webhook_message(request, target)
        msg.deleted = True
        self.emu.record("webhook.message.delete", message_id=msg.id)
        self.emu.events.message_delete(msg)
        if isinstance(target, Interaction):
            target.notify("delete")
        return no_content()

    # -- interactions ----------------------------------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback: every response type discord.py sends."""
        inter = self.world.interaction(
            snowflake(request.match_info["interaction_id"]), request.match_info["interaction_token"]
        )
        timeout = self.emu.interaction_ack_timeout
        if timeout is not None and time.monotonic() - inter.created > timeout and inter.callback_type is None:
            raise errors.unknown("interaction")
        if inter.callback_type is not None:
            raise errors.already_acknowledged()
        body = await self.body(request)
        try:
            rtype = int(body["type"])
        except (KeyError, TypeError, ValueError):
            raise errors.invalid_form_body({"type": ("BASE_TYPE_REQUIRED", "This field is required")}) from None
        data = body.get("data") or {}
        if isinstance(data, dict) and body.get("__files__"):
            data["attachments"] = body.get("attachments", [])
            data["__files__"] = True
        allowed = {
            INTERACTION_PING: {1},
            INTERACTION_APPLICATION_COMMAND: {4, 5, 9, 10, 12},
            INTERACTION_MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 10, 12},
            INTERACTION_AUTOCOMPLETE: {8},
            INTERACTION_MODAL_SUBMIT: {4, 5, 6, 7, 10, 12},
        }[inter.type]
        if rtype not in allowed:
            raise errors.invalid_form_body(
                {
                    "type": (
                        "INTERACTION_RESPONSE_TYPE_INVALID",
                        f"Interaction response type {rtype} is not valid here.",
                    )
                }
            )
        channel = self.world.channels[inter.channel_id]
        resource_message: Message | None = None
        if rtype in (4, 5):
            if rtype == 4:
                self.validate_message(data, creating=True)
            flags = int(data.get("flags") or 0) & (MESSAGE_FLAG_EPHEMERAL | MESSAGE_FLAG_SUPPRESS_EMBEDS)
            if rtype == 5:
                flags |= MESSAGE_FLAG_LOADING
                data = {}
            msg = self.build_message(channel, self.world.bot, data, **self.emu.interaction_message_fields(inter))
            msg.flags = flags
            inter.original_message_id = msg.id
            resource_message = msg
            self.emu.events.message_create(msg)
        elif rtype == 7:
            if inter.message_id is None:
                raise errors.unknown("message")
            msg = self.world.find_message(inter.message_id)
            self.apply_edit(msg, dict(data))
            inter.original_message_id = msg.id
            resource_message = msg
            self.emu.events.message_update(msg)
        elif rtype == 6:
            inter.original_message_id = inter.message_id
        elif rtype == 8:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise errors.invalid_form_body(
                    {"data.choices": ("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")}
                )
        elif rtype == 9:
            problems = {}
            if not data.get("custom_id"):
                problems["data.custom_id"] = ("BASE_TYPE_REQUIRED", "This field is required")
            if not data.get("title"):
                problems["data.title"] = ("BASE_TYPE_REQUIRED", "This field is required")
            if problems:
                raise errors.invalid_form_body(problems)
        inter.callback_type = rtype
        inter.callback_data = {k: v for k, v in data.items() if k != "__files__"} if isinstance(data, dict) else {}
        self.emu.record(
            "interaction.callback",
            interaction_id=inter.id,
            type=rtype,
            content=(inter.callback_data or {}).get("content"),
        )
        inter.notify("callback")
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        response: dict[str, Any] = {
            "interaction": {
                "id": str(inter.id),
                "type": inter.type,
                "response_message_id": str(resource_message.id) if resource_message else None,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(resource_message and resource_message.ephemeral),
            }
        }
        resource: dict[str, Any] = {"type": rtype}
        if resource_message is not None:
            resource["message"] = payloads.message(self.world, resource_message)
        response["resource"] = resource
        return json_response(response)


def _normalise_embed(embed: dict[str, Any]) -> dict[str, Any]:
    out = dict(embed)
    out.setdefault("type", "rich")
    out.setdefault("content_scan_version", 0)
    return out


def encode_basic(client_id: str, secret: str) -> str:
    """An HTTP Basic ``Authorization`` value (for tests of the OAuth2 token endpoint)."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
