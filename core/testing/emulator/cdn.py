"""Attachments: the bytes users and the bot upload, and the CDN that serves them.

Discord serves uploaded files from ``cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}``
(``/ephemeral-attachments/…`` for slash-command options and ephemeral messages) with a signed query
(``ex`` expiry, ``is`` issue time, both hex Unix seconds, and ``hm`` a MAC). The emulator does the same
under its own base URL: a URL whose signature does not match, that has expired, or whose message was
deleted (or edited to drop the attachment) answers ``404 This content is no longer available.``.
Downloads need no token (discord.py's ``Attachment.read()`` sends none) and are recorded as
``attachment.download`` actions.

Avatars: ``/embed/avatars/{n}.png`` (default avatars) and ``/avatars/{user_id}/{hash}.png`` answer a small
solid-colour PNG drawn here (one colour per user or index), recorded as ``avatar.download``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import mimetypes
import secrets
import struct
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog
from aiohttp import web

from .errors import EmulatorError
from .state import Message, StoredFile

if TYPE_CHECKING:
    from .server import Emulator

log = structlog.get_logger(__name__)

#: What Discord allows per file without boosts (also ``attachment_size_limit`` in interactions).
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
#: How long a signed attachment URL stays valid (Discord: 24 hours).
URL_LIFETIME = 24 * 3600
GONE = "This content is no longer available."
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/toml")


@dataclass(frozen=True)
class Attachment:
    """A file a user uploads: the value of an ATTACHMENT option, or one of ``send_message(attachments=…)``.

    ``content_type`` defaults to what Discord would detect from the file name (``application/json;
    charset=utf-8`` for a ``.json`` file with UTF-8 content, ``application/octet-stream`` when unknown).
    """

    filename: str
    content: bytes
    content_type: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.filename, str) or not self.filename.strip():
            raise EmulatorError("an attachment needs a non-empty filename")
        if not isinstance(self.content, (bytes, bytearray, memoryview)):
            raise EmulatorError(f"attachment content must be bytes, not {type(self.content).__name__}")
        if len(self.content) > ATTACHMENT_SIZE_LIMIT:
            raise EmulatorError(
                f"attachment {self.filename!r} is {len(self.content)} bytes; Discord allows {ATTACHMENT_SIZE_LIMIT}"
            )


def as_upload(value: Any) -> Attachment | None:
    """An ``Attachment`` from what tests pass, or None for a metadata-only dict (whose bytes are not served).

    Accepted: an ``Attachment``; a ``(filename, bytes)`` or ``(filename, bytes, content_type)`` tuple;
    a mapping with ``filename`` and ``content`` (bytes, or text encoded as UTF-8) or ``content_base64``
    (what the HTTP control API takes), plus optional ``content_type`` and ``description``.
    """
    if isinstance(value, Attachment):
        return value
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise EmulatorError("an attachment tuple is (filename, bytes) or (filename, bytes, content_type)")
        return Attachment(value[0], _as_bytes(value[1]), value[2] if len(value) == 3 else None)
    if isinstance(value, Mapping):
        if "content" in value:
            content = _as_bytes(value["content"])
        elif "content_base64" in value:
            try:
                content = base64.b64decode(str(value["content_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise EmulatorError("content_base64 is not valid base64") from None
        else:
            return None
        if not value.get("filename"):
            raise EmulatorError("an attachment needs a filename")
        return Attachment(str(value["filename"]), content, value.get("content_type"), value.get("description"))
    raise EmulatorError(
        f"an attachment is an Attachment, a (filename, bytes) tuple or a dict, not {type(value).__name__}"
    )


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise EmulatorError(f"attachment content must be bytes or str, not {type(value).__name__}")


def detect_content_type(filename: str, content: bytes, declared: str | None = None) -> str:
    """The ``content_type`` Discord reports: a declared type as is, else one guessed from the file name.

    ``application/octet-stream`` (what discord.py sends for every upload) counts as not declared.
    Text types get ``; charset=utf-8`` when the content is UTF-8, as Discord adds.
    """
    if declared and declared != "application/octet-stream":
        return declared
    guessed = mimetypes.guess_type(filename)[0]
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in _TEXT_TYPES:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return guessed
        return f"{guessed}; charset=utf-8"
    return guessed


class CDN:
    """Stores uploaded bytes in ``world.files`` and serves them at signed, Discord-shaped URLs."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world
        self._key = secrets.token_bytes(32)

    # -- storing ---------------------------------------------------------------------------------------

    def store(
        self,
        upload: Attachment,
        *,
        channel_id: int | None = None,
        ephemeral: bool = False,
        attachment_id: int | None = None,
    ) -> dict[str, Any]:
        """Keep the bytes and return the Discord attachment object (its URL serves them)."""
        content = bytes(upload.content)
        stored = StoredFile(
            id=attachment_id if attachment_id is not None else self.world.new_id(),
            filename=upload.filename,
            content=content,
            content_type=detect_content_type(upload.filename, content, upload.content_type),
            description=upload.description,
            channel_id=channel_id,
            ephemeral=ephemeral,
        )
        self.world.files[stored.id] = stored
        return self.attachment_object(stored)

    def unstored(
        self, meta: Mapping[str, Any], *, channel_id: int | None = None, ephemeral: bool = False
    ) -> dict[str, Any]:
        """An attachment object for metadata only (``{"filename", "size"}``): its URL answers 404."""
        filename = str(meta.get("filename") or "file")
        aid = self.world.new_id()
        data: dict[str, Any] = {"size": 0, "content_type": detect_content_type(filename, b"")}
        data.update(meta)
        url = self.url(channel_id or 0, aid, filename, ephemeral=ephemeral)
        data.update({"id": str(aid), "filename": filename, "url": url, "proxy_url": url})
        if ephemeral:
            data["ephemeral"] = True
        return data

    def attachment_object(self, stored: StoredFile) -> dict[str, Any]:
        """The attachment object Discord sends for a stored file."""
        url = self.url(stored.channel_id or 0, stored.id, stored.filename, ephemeral=stored.ephemeral)
        data: dict[str, Any] = {
            "id": str(stored.id),
            "filename": stored.filename,
            "size": len(stored.content),
            "url": url,
            "proxy_url": url,
            "content_type": stored.content_type,
        }
        if stored.description is not None:
            data["description"] = stored.description
        if stored.ephemeral:
            data["ephemeral"] = True
        return data

    def bind(self, msg: Message) -> None:
        """Tie the stored files of a message's attachments to it: its channel in the URL, and the bytes
        stop being served when the message is deleted or edited to drop them. Ephemeral messages get
        ephemeral attachments, as on Discord."""
        for index, att in enumerate(msg.attachments):
            stored = self.world.files.get(_int(att.get("id")))
            if stored is None:
                continue
            stored.channel_id, stored.message_id = msg.channel_id, msg.id
            stored.ephemeral = stored.ephemeral or msg.ephemeral
            fresh = self.attachment_object(stored)
            msg.attachments[index] = {**att, **fresh}

    def content_of(self, attachment: Mapping[str, Any] | int | str) -> bytes:
        """The stored bytes of an attachment (object, id or URL); ``EmulatorError`` when none are stored."""
        if isinstance(attachment, Mapping):
            key: Any = attachment.get("id")
        elif isinstance(attachment, str) and "/" in attachment:
            parts = attachment.split("?", 1)[0].rstrip("/").split("/")
            key = parts[-2] if len(parts) >= 2 else None
        else:
            key = attachment
        stored = self.world.files.get(_int(key))
        if stored is None:
            raise EmulatorError(f"no stored bytes for attachment {attachment!r}")
        return stored.content

    # -- URLs ------------------------------------------------------------------------------------------

    def url(self, channel_id: int, attachment_id: int, filename: str, *, ephemeral: bool = False) -> str:
        """A signed URL like Discord's, valid for ``URL_LIFETIME`` seconds."""
        kind = "ephemeral-attachments" if ephemeral else "attachments"
        issued = int(time.time())
        ex, is_ = f"{issued + URL_LIFETIME:x}", f"{issued:x}"
        path = f"/{kind}/{channel_id}/{attachment_id}/{filename}"
        hm = self._sign(path, ex, is_)
        where = f"{self.emu.base_url}/{kind}/{channel_id}/{attachment_id}/{quote(filename, safe='')}"
        return f"{where}?ex={ex}&is={is_}&hm={hm}&"

    def _sign(self, path: str, ex: str, is_: str) -> str:
        return hmac.new(self._key, f"{path}\n{ex}\n{is_}".encode(), hashlib.sha256).hexdigest()

    # -- serving ---------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Any]]:
        """``(method, path, handler)`` of the CDN (mounted at the server root)."""
        return [
            ("GET", "/attachments/{channel_id}/{attachment_id}/{filename}", self.serve),
            ("GET", "/ephemeral-attachments/{channel_id}/{attachment_id}/{filename}", self.serve),
            ("GET", "/embed/avatars/{name}", self.avatar),
            ("GET", "/avatars/{user_id}/{name}", self.avatar),
        ]

    async def avatar(self, request: web.Request) -> web.StreamResponse:
        """A default or user avatar: a 128x128 PNG in a colour derived from the path (faults apply)."""
        fault = self.emu.take_fault("GET", request.path, cdn=True)
        status = fault.status if fault is not None else 200
        self.emu.record("avatar.download", path=request.path, status=status)
        if fault is not None:
            return fault.response()
        seed = hashlib.sha256(request.path.encode()).digest()
        return web.Response(
            body=solid_png(128, 128, (seed[0], seed[1], seed[2])),
            headers={"Content-Type": "image/png", "Cache-Control": "public, max-age=86400"},
        )

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """GET an attachment's bytes (HEAD too): 200 with its Content-Type, or 404 like Discord's CDN."""
        fault = self.emu.take_fault("GET", request.path, cdn=True)
        if fault is not None:
            log.debug("emulator injected CDN failure", path=request.path, status=fault.status)
            self._record(request, fault.status)
            return fault.response()
        stored = self._find(request)
        if stored is None:
            self._record(request, 404)
            return web.Response(status=404, text=GONE)
        self._record(request, 200, stored)
        return web.Response(
            body=stored.content,
            headers={
                "Content-Type": stored.content_type,
                "Cache-Control": "public, max-age=31536000",
            },
        )

    def _find(self, request: web.Request) -> StoredFile | None:
        info = request.match_info
        kind = request.path.split("/", 2)[1]
        stored = self.world.files.get(_int(info["attachment_id"]))
        if stored is None or stored.filename != info["filename"]:
            return None
        if (kind == "ephemeral-attachments") != stored.ephemeral:
            return None
        if str(stored.channel_id or 0) != info["channel_id"]:
            return None
        ex, is_, hm = (request.query.get(k, "") for k in ("ex", "is", "hm"))
        path = f"/{kind}/{info['channel_id']}/{info['attachment_id']}/{info['filename']}"
        if not hm or not hmac.compare_digest(hm, self._sign(path, ex, is_)):
            return None
        try:
            if int(ex, 16) < time.time():
                return None
        except ValueError:
            return None
        if stored.message_id is not None:
            msg = self.world.messages.get(stored.channel_id or 0, {}).get(stored.message_id)
            if msg is None or msg.deleted or not any(_int(a.get("id")) == stored.id for a in msg.attachments):
                return None
        return stored

    def _record(self, request: web.Request, status: int, stored: StoredFile | None = None) -> None:
        self.emu.record(
            "attachment.download",
            attachment_id=stored.id if stored is not None else _int(request.match_info.get("attachment_id")),
            filename=request.match_info.get("filename"),
            status=status,
        )


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


__all__ = ["ATTACHMENT_SIZE_LIMIT", "CDN", "Attachment", "as_upload", "detect_content_type"]
