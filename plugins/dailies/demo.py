"""``omo demo``: local feeds that gain an item every minute, subscriptions to them, a scheduled post.

The feeds are served on 127.0.0.1 by :class:`DemoFeeds` (RSS 2.0, Atom, JSON Feed 1.1 and a YouTube-style
channel feed). Loopback is refused by the SSRF guard, so the demo opens 127.0.0.1 for this process's
fetcher only (the demo is offline and local by design) and allows one-minute intervals.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from .service import DailiesError, Target
from .state import DailiesState

log = structlog.get_logger("omo.plugins.dailies.demo")
CHANNEL_ID = "UComoDemoChannel00000000"
TOPICS = (
    "Release notes",
    "Community spotlight",
    "Tip of the day",
    "Behind the scenes",
    "Weekly roundup",
    "Event reminder",
)
PROMPTS = [
    "What are you working on today?",
    "Tea or coffee?",
    "Which song is stuck in your head?",
    "What did you learn this week?",
    "Share a photo of your desk!",
]


class DemoFeeds:
    """Feeds whose newest item number grows by one every ``period`` seconds."""

    def __init__(self, period: float = 60.0, backlog: int = 3) -> None:
        self.period = period
        self.backlog = backlog
        self.started = time.time()
        self._runner: web.AppRunner | None = None
        self.base = ""

    def head(self) -> int:
        """The newest item's number now."""
        return self.backlog + int((time.time() - self.started) // self.period)

    def _items(self) -> list[tuple[int, str, datetime]]:
        head = self.head()
        return [
            (n, f"{TOPICS[n % len(TOPICS)]} #{n}", datetime.fromtimestamp(self.started + n * self.period, UTC))
            for n in range(head, max(-1, head - 10), -1)
        ]

    async def rss(self, request: web.Request) -> web.Response:
        items = "".join(
            f"<item><title>{title}</title><link>{self.base}/posts/{n}</link><guid>rss-{n}</guid>"
            f"<description><![CDATA[<p>Demo post <b>{n}</b> of the omo blog.</p>]]></description>"
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
            for n, title, when in self._items()
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>omo blog</title>'
            f"<link>{self.base}/</link><description>demo</description>{items}</channel></rss>"
        )
        return web.Response(text=body, content_type="application/rss+xml")

    async def atom(self, request: web.Request) -> web.Response:
        entries = "".join(
            f"<entry><title>{title} (changelog)</title><link href='changes/{n}'/><id>urn:omo:changes:{n}</id>"
            f"<updated>{when.isoformat()}</updated><author><name>omo team</name></author>"
            f"<summary>Changes in build {n}</summary></entry>"
            for n, title, when in self._items()
        )
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="{self.base}/">'
            f"<title>omo changelog</title><id>urn:omo:changes</id><updated>{datetime.now(UTC).isoformat()}</updated>"
            f"{entries}</feed>"
        )
        return web.Response(text=body, content_type="application/atom+xml")

    async def json_feed(self, request: web.Request) -> web.Response:
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "omo podcast",
            "home_page_url": f"{self.base}/podcast",
            "items": [
                {
                    "id": f"pod-{n}",
                    "url": f"{self.base}/podcast/{n}",
                    "title": f"Episode {n}: {title}",
                    "content_text": f"In episode {n} we talk about {title.lower()}.",
                    "date_published": when.isoformat(),
                }
                for n, title, when in self._items()
            ],
        }
        return web.Response(text=json.dumps(feed), content_type="application/feed+json")

    async def youtube(self, request: web.Request) -> web.Response:
        entries = "".join(
            f"<entry><id>yt:video:demo{n:07d}</id><yt:videoId>demo{n:07d}</yt:videoId><title>{title} (video)</title>"
            f"<link rel='alternate' href='{self.base}/watch?v=demo{n:07d}'/><author><name>omo channel</name></author>"
            f"<published>{when.isoformat()}</published><media:group>"
            f"<media:thumbnail url='{self.base}/thumb/{n}.jpg' width='480' height='360'/></media:group></entry>"
            for n, title, when in self._items()
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
            'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">'
            f"<title>omo channel</title>{entries}</feed>"
        )
        return web.Response(text=body, content_type="application/atom+xml")

    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); the base URL."""
        app = web.Application()
        app.router.add_get("/rss.xml", self.rss)
        app.router.add_get("/atom.xml", self.atom)
        app.router.add_get("/feed.json", self.json_feed)
        app.router.add_get("/feeds/videos.xml", self.youtube)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self.base

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()


async def setup_demo(state: DailiesState, demo: Any) -> DemoFeeds:
    """Serve the demo feeds and subscribe the demo guild's #feeds to them; schedule a question of the day."""
    feeds = DemoFeeds()
    base = await feeds.start()
    state.closers.append(feeds.stop)
    state.fetcher.policy.extend(["127.0.0.1/32"])
    state.service.op = state.operator.model_copy(update={"min_interval": 30})
    channels = {c.name: c for c in demo.text_channels}
    feed_channel = channels.get("feeds") or demo.text_channels[0]
    general = channels.get("general") or demo.text_channels[0]
    guild_id = demo.guild.id
    local_digest = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%H:%M")
    subscriptions: list[tuple[str, dict[str, Any]]] = [
        (f"{base}/rss.xml", {}),
        (f"{base}/atom.xml", {"template": "📜 {{ title }} by {{ author }}: {{ link }}", "embed": False}),
        (f"{base}/feeds/videos.xml?channel_id={CHANNEL_ID}", {}),
        (f"{base}/feed.json", {"mode": "digest", "digest_time": local_digest}),
    ]
    for url, options in subscriptions:
        try:
            await state.service.add_subscription(
                guild_id, url, Target(feed_channel.id), interval=60, post_latest=True, **options
            )
        except DailiesError as exc:
            log.warning("demo subscription failed", url=url, error=str(exc))
    await state.service.add_schedule(
        guild_id,
        general.id,
        "*/15 * * * *",
        "UTC",
        "☀️ **Question of the day** ({{ weekday }}): {{ prompt }}",
        PROMPTS,
        None,
    )
    log.info("dailies demo ready", feeds=base, channel=feed_channel.name, digest_at=local_digest)
    return feeds
