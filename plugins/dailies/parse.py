"""Feed bodies to items: RSS 0.9x/1.0/2.0, Atom and RDF through feedparser, JSON Feed 1.0/1.1 through pydantic.

Everything here is synchronous and CPU-bound: call :func:`parse_feed` through :func:`parse_feed_async`, which
runs it in a worker thread so the event loop keeps serving. Encodings come from the HTTP header, else the
XML prolog (feedparser's rules). Documents that declare entities are refused (billion laughs).
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import json
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_ITEMS = 200
MAX_FIELD = 4000
SUMMARY_LENGTH = 500
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class NotAFeed(Exception):
    """The body is not a feed we can read; the message says why."""


@dataclass(frozen=True)
class FeedItem:
    """One entry, as plain data; ``key`` is its stable dedupe key (see :func:`dedupe_key`)."""

    key: str
    title: str = ""
    link: str = ""
    author: str = ""
    summary: str = ""
    published: datetime | None = None
    thumbnail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with a pending post)."""
        return {
            "key": self.key,
            "title": self.title,
            "link": self.link,
            "author": self.author,
            "summary": self.summary,
            "published": self.published.isoformat() if self.published else None,
            "thumbnail": self.thumbnail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedItem:
        """Inverse of :meth:`as_dict`."""
        published = data.get("published")
        return cls(
            key=str(data["key"]),
            title=str(data.get("title") or ""),
            link=str(data.get("link") or ""),
            author=str(data.get("author") or ""),
            summary=str(data.get("summary") or ""),
            published=datetime.fromisoformat(published) if published else None,
            thumbnail=str(data.get("thumbnail") or ""),
        )


@dataclass
class ParsedFeed:
    """A feed's title, home page and items (newest first when the feed dates them)."""

    title: str
    link: str
    kind: str
    items: list[FeedItem] = field(default_factory=list)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def clean(text: str | None, limit: int = MAX_FIELD) -> str:
    """One line of text: control characters out, whitespace collapsed, cut to ``limit`` with an ellipsis."""
    if not text:
        return ""
    text = _SPACE.sub(" ", _CONTROL.sub("", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def html_to_text(markup: str | None, limit: int = SUMMARY_LENGTH) -> str:
    """Plain text of an HTML fragment (scripts and styles dropped), cut to ``limit``."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return clean(markup, limit)
    parser = _Text()
    try:
        parser.feed(markup[: MAX_FIELD * 20])
        parser.close()
    except (ValueError, AssertionError):
        return clean(html.unescape(re.sub(r"<[^>]*>", " ", markup)), limit)
    return clean("".join(parser.parts), limit)


def dedupe_key(*, guid: str | None, video_id: str | None, link: str | None, content: str) -> str:
    """A stable key: the guid/id, else the YouTube video id, else the link, else a hash of the content."""
    if video_id:
        raw = f"yt:{video_id}"
    elif guid:
        raw = f"id:{guid.strip()}"
    elif link:
        raw = f"link:{link.strip()}"
    else:
        raw = "hash:" + content
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:40]


def _safe_url(url: str | None) -> str:
    url = (url or "").strip()
    return url[:2000] if url.lower().startswith(("http://", "https://")) else ""


# ------------------------------------------------------------------------------------------ JSON Feed
class _Author(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(None, max_length=MAX_FIELD)


class _JsonItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | int
    url: str | None = None
    external_url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    summary: str | None = None
    image: str | None = None
    banner_image: str | None = None
    date_published: datetime | None = None
    author: _Author | None = None
    authors: list[_Author] = Field(default_factory=list, max_length=50)


class JsonFeed(BaseModel):
    """JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1): the fields we use."""

    model_config = ConfigDict(extra="ignore")
    version: str = Field(pattern=r"^https://jsonfeed\.org/version/1(\.1)?$")
    title: str = Field(max_length=MAX_FIELD)
    home_page_url: str | None = None
    author: _Author | None = None
    authors: list[_Author] = Field(default_factory=list, max_length=50)
    items: list[_JsonItem] = Field(max_length=10_000)


def _parse_json(body: bytes) -> ParsedFeed:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise NotAFeed(f"not valid JSON ({exc})") from None
    try:
        feed = JsonFeed.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NotAFeed(f"not a JSON Feed ({where}: {first['msg']})") from None
    feed_author = (feed.authors[0] if feed.authors else feed.author) or _Author(name=None)
    items = []
    for it in feed.items[:MAX_ITEMS]:
        author = (it.authors[0] if it.authors else it.author) or feed_author
        text = it.content_text or html_to_text(it.summary or it.content_html, MAX_FIELD)
        published = it.date_published
        if published is not None and published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        link = _safe_url(it.url or it.external_url)
        items.append(
            FeedItem(
                key=dedupe_key(guid=str(it.id), video_id=None, link=link, content=f"{it.title}{text}"),
                title=clean(it.title, 256),
                link=link,
                author=clean(author.name, 256),
                summary=html_to_text(it.summary or it.content_text or it.content_html),
                published=published,
                thumbnail=_safe_url(it.image or it.banner_image),
            )
        )
    return ParsedFeed(title=clean(feed.title, 256), link=_safe_url(feed.home_page_url), kind="json", items=items)


# ------------------------------------------------------------------------------------------ XML feeds
def _thumbnail(entry: Any) -> str:
    for thumb in entry.get("media_thumbnail") or []:
        if _safe_url(thumb.get("url")):
            return _safe_url(thumb.get("url"))
    for media in entry.get("media_content") or []:
        if str(media.get("medium", media.get("type", ""))).startswith("image") and _safe_url(media.get("url")):
            return _safe_url(media.get("url"))
    for enc in entry.get("enclosures") or []:
        if str(enc.get("type", "")).startswith("image/") and _safe_url(enc.get("href")):
            return _safe_url(enc.get("href"))
    return ""


def _published(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError):
        return None


def _parse_xml(body: bytes, url: str, content_type: str) -> ParsedFeed:
    if _ENTITY.search(body):
        raise NotAFeed("the document declares XML entities, which are refused")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    doc = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    version = doc.get("version") or ""
    if not version or (not doc.entries and not doc.feed.get("title")):
        reason = doc.get("bozo_exception")
        raise NotAFeed(f"not an RSS, Atom or JSON feed{f' ({reason})' if reason else ''}")
    items = []
    for entry in doc.entries[:MAX_ITEMS]:
        link = _safe_url(entry.get("link"))
        summary_html = entry.get("summary") or ""
        if not summary_html and entry.get("content"):
            summary_html = entry["content"][0].get("value", "")
        title = clean(entry.get("title"), 256)
        text = html_to_text(summary_html)
        items.append(
            FeedItem(
                key=dedupe_key(
                    guid=entry.get("id") or entry.get("guid"),
                    video_id=entry.get("yt_videoid"),
                    link=link,
                    content=f"{title}\n{text}",
                ),
                title=title,
                link=link,
                author=clean(entry.get("author"), 256),
                summary=text,
                published=_published(entry),
                thumbnail=_thumbnail(entry),
            )
        )
    kind = "youtube" if any(e.get("yt_videoid") for e in doc.entries[:5]) else version
    return ParsedFeed(
        title=clean(doc.feed.get("title"), 256) or url,
        link=_safe_url(doc.feed.get("link")),
        kind=kind,
        items=items,
    )


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a feed body fetched from ``url``; :class:`NotAFeed` when it is not one."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if "json" in content_type.lower() or head.startswith((b"{", b"[")):
        return _parse_json(body)
    if not head.startswith(b"<") and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotAFeed("not an RSS, Atom or JSON feed (the answer is not XML or JSON)")
    return _parse_xml(body, url, content_type)


#: Parsing runs in one worker process: feedparser is pure Python, and in a thread it would hold the GIL
#: the event loop needs (measured: loop lag p99 several times higher). Started on first use.
_parser: ProcessPoolExecutor | None = None
_starting = threading.Lock()


def _start_parser() -> ProcessPoolExecutor:
    """The parsing process, started (in a worker thread: spawning it takes a while) and ready."""
    global _parser
    with _starting:
        if _parser is None:
            pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            pool.submit(int).result()
            _parser = pool
        return _parser


def worker_cpu_seconds() -> float:
    """CPU time used so far by the parsing process (Linux /proc; 0.0 elsewhere or before it starts)."""
    processes = getattr(_parser, "_processes", None) or {}
    total = 0.0
    for pid in list(processes):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def parse_feed_async(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """:func:`parse_feed` in the parsing process (started on first use, restarted if it died)."""
    global _parser
    loop = asyncio.get_running_loop()
    pool = _parser or await asyncio.to_thread(_start_parser)
    try:
        return await loop.run_in_executor(pool, parse_feed, body, url, content_type)
    except BrokenProcessPool:
        _parser = None
        pool = await asyncio.to_thread(_start_parser)
        return await loop.run_in_executor(pool, parse_feed, body, url, content_type)
