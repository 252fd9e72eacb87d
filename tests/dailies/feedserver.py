"""A local HTTP server for the dailies tests: feeds shaped like real ones, and misbehaving answers on demand."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    delay: float = 0.0
    trickle: float = 0.0
    chunk: int = 16
    dynamic: Callable[[], bytes] | None = None


class FeedServer:
    """``server.set("/rss", body, content_type=...)``; ``server.url("/rss")``; ``server.hits["/rss"]``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[dict[str, str]] = []
        self.active = 0
        self.peak = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path: str, body: bytes | str = b"", *, content_type: str = "application/rss+xml", **kw: Any) -> str:
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        self.routes[path] = Route(body=data, headers=headers, **kw)
        return self.url(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            return await self._answer(request)
        finally:
            self.active -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.requests.append({"path": path, **{k: v for k, v in request.headers.items()}})
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        body = route.dynamic() if route.dynamic is not None else route.body
        if route.etag is not None and request.headers.get("If-None-Match") == route.etag:
            return web.Response(status=304, headers={"ETag": route.etag})
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
        if not route.trickle:
            return web.Response(status=route.status, body=body, headers=headers)
        resp = web.StreamResponse(status=route.status, headers=headers)
        await resp.prepare(request)
        for i in range(0, len(body), route.chunk):
            await resp.write(body[i : i + route.chunk])
            await asyncio.sleep(route.trickle)
        await resp.write_eof()
        return resp


def rss(items: list[dict[str, str]], *, title: str = "Example News", encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document with ``items`` (keys: title, link, guid, description, pubDate)."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>news</description>"
    ]
    for it in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate", "author"):
            if key in it:
                parts.append(f"<{key}>{it[key]}</{key}>")
        if "thumbnail" in it:
            parts.append(f'<media:thumbnail url="{it["thumbnail"]}"/>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode(encoding)


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (a few KiB on the wire)."""
    return gzip.compress(b"\0" * size, compresslevel=9)
