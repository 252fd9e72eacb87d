"""YouTube channels as feeds: a channel id, a ``/channel/ID`` URL or an ``@handle`` (URL or bare) to the Atom feed.

Handles need the channel page (fetched through the guarded :class:`.fetch.Fetcher`) to learn the channel id.
``base`` is ``https://www.youtube.com`` except in tests and the demo (operator setting ``youtube_url``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

from .fetch import Fetcher, FetchError

CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
HANDLE = re.compile(r"^@[A-Za-z0-9._-]{3,30}$")
_ID_IN_PAGE = (
    re.compile(rb'<link rel="canonical" href="[^"]*/channel/(UC[A-Za-z0-9_-]{22})"'),
    re.compile(rb'<meta itemprop="(?:channelId|identifier)" content="(UC[A-Za-z0-9_-]{22})"'),
    re.compile(rb'"(?:channelId|externalId)":"(UC[A-Za-z0-9_-]{22})"'),
)
YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com")


def feed_url(base: str, channel_id: str) -> str:
    """The Atom feed of a channel."""
    return f"{base.rstrip('/')}/feeds/videos.xml?channel_id={channel_id}"


def youtube_reference(source: str, base: str) -> tuple[str, str] | None:
    """``("id", UC…)`` or ``("handle", "@name")`` when ``source`` names a YouTube channel, else None."""
    source = source.strip()
    if CHANNEL_ID.match(source):
        return "id", source
    if HANDLE.match(source):
        return "handle", source
    try:
        parts = urlsplit(source if "://" in source else f"https://{source}")
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    base_host = (urlsplit(base).hostname or "").lower()
    if host not in YOUTUBE_HOSTS and host != base_host:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    if segments[0] == "channel" and len(segments) > 1 and CHANNEL_ID.match(segments[1]):
        return "id", segments[1]
    if HANDLE.match(segments[0]):
        return "handle", segments[0]
    if segments[:2] == ["feeds", "videos.xml"]:
        channel = parse_qs(parts.query).get("channel_id", [""])[0]
        if CHANNEL_ID.match(channel):
            return "id", channel
    return None


async def resolve(source: str, base: str, fetcher: Fetcher) -> str | None:
    """The feed URL of the YouTube channel ``source`` names, or None when it does not name one.

    Raises :class:`.fetch.FetchError` when a handle's page cannot be fetched or holds no channel id."""
    ref = youtube_reference(source, base)
    if ref is None:
        return None
    kind, value = ref
    if kind == "id":
        return feed_url(base, value)
    page = await fetcher.get(f"{base.rstrip('/')}/{quote(value)}", accept="text/html")
    for pattern in _ID_IN_PAGE:
        found = pattern.search(page.body)
        if found:
            return feed_url(base, found.group(1).decode())
    raise FetchError("not_a_feed", f"no YouTube channel id found on the page of {value}")
