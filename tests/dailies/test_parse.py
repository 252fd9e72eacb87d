"""Parsing real-world shaped feeds (fetched from the local server) and YouTube channel resolution."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from plugins.dailies.fetch import Fetcher, FetchError
from plugins.dailies.netguard import AddressPolicy
from plugins.dailies.parse import NotAFeed, parse_feed, parse_feed_async
from plugins.dailies.youtube import resolve, youtube_reference
from tests.dailies.feedserver import FeedServer, rss

RSS_REAL = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>The Daily Widget</title><link>https://widgets.example/</link><description>d</description>
<item>
  <title><![CDATA[Widgets & Gadgets: <b>big</b> news]]></title>
  <link>https://widgets.example/posts/1</link>
  <guid isPermaLink="false">post-1</guid>
  <description><![CDATA[<p>Hello <a href="/x">world</a>!</p><script>alert(1)</script><img src="https://img.example/1.png">]]></description>
  <dc:creator>Jane Doe</dc:creator>
  <pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate>
  <enclosure url="https://img.example/1.jpg" type="image/jpeg" length="10"/>
</item>
<item>
  <title>No guid here</title>
  <link>https://widgets.example/posts/2</link>
  <description>Plain &amp; simple</description>
</item>
<item>
  <title>Neither guid nor link</title>
  <description>only text</description>
</item>
</channel></rss>"""

ATOM_XML_BASE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/sub/">
  <title>Relative Blog</title>
  <link href="./"/>
  <id>urn:blog</id>
  <updated>2026-12-01T10:00:00Z</updated>
  <entry>
    <title type="html">&lt;em&gt;First&lt;/em&gt; post</title>
    <link href="posts/first.html"/>
    <id>urn:blog:1</id>
    <updated>2026-12-01T09:00:00Z</updated>
    <author><name>Ann</name></author>
    <summary type="html">&lt;p&gt;Summary with &lt;a href="rel"&gt;a link&lt;/a&gt;&lt;/p&gt;</summary>
  </entry>
</feed>"""

RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="https://rdf.example/"><title>RDF Site</title><link>https://rdf.example/</link>
  <description>x</description></channel>
  <item rdf:about="https://rdf.example/a"><title>RDF item</title><link>https://rdf.example/a</link>
  <description>About a</description></item>
</rdf:RDF>"""

RSS_091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>https://old.example/</link>
<description>x</description><item><title>Old item</title><link>https://old.example/1</link></item></channel></rss>"""

YOUTUBE = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/"
      xmlns="http://www.w3.org/2005/Atom">
 <title>Omo Channel</title>
 <link rel="alternate" href="https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv"/>
 <entry>
  <id>yt:video:dQw4w9WgXcQ</id>
  <yt:videoId>dQw4w9WgXcQ</yt:videoId>
  <title>A video</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"/>
  <author><name>Omo</name></author>
  <published>2026-12-01T08:00:00+00:00</published>
  <media:group><media:title>A video</media:title>
   <media:thumbnail url="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" width="480" height="360"/>
   <media:description>Watch this</media:description></media:group>
 </entry>
</feed>"""

LATIN1 = (
    '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>Caf\xe9</title>'
    "<link>https://cafe.example/</link><description>x</description>"
    "<item><title>Cr\xe8me br\xfbl\xe9e</title><guid>c1</guid></item></channel></rss>"
).encode("latin-1")

SHIFT_JIS = (
    '<?xml version="1.0" encoding="Shift_JIS"?><rss version="2.0"><channel><title>ニュース</title>'
    "<link>https://jp.example/</link><description>x</description>"
    "<item><title>今日のお知らせ</title><guid>j1</guid></item></channel></rss>"
).encode("shift_jis")

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON Blog",
    "home_page_url": "https://json.example/",
    "authors": [{"name": "Feed Author"}],
    "items": [
        {
            "id": "j-2",
            "url": "https://json.example/2",
            "title": "Second",
            "content_html": "<p>Two <b>bold</b></p>",
            "date_published": "2026-12-01T12:00:00Z",
            "image": "https://json.example/2.png",
        },
        {"id": 1, "url": "https://json.example/1", "content_text": "First, untitled", "authors": [{"name": "Bo"}]},
    ],
}


@pytest_asyncio.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    f = Fetcher(AddressPolicy(["127.0.0.1/32"]))
    try:
        yield f
    finally:
        await f.close()


async def fetch_and_parse(feeds: FeedServer, fetcher: Fetcher, path: str, body: bytes | str, ctype: str) -> object:
    url = feeds.set(path, body, content_type=ctype)
    result = await fetcher.get(url)
    return await parse_feed_async(result.body, result.url, result.content_type)


async def test_rss_with_cdata_html_and_missing_guids(feeds: FeedServer, fetcher: Fetcher) -> None:
    feed = await fetch_and_parse(feeds, fetcher, "/rss", RSS_REAL, "application/rss+xml")

    first, second, third = feed.items  # type: ignore[attr-defined]
    assert feed.title == "The Daily Widget"  # type: ignore[attr-defined]
    assert first.title == "Widgets & Gadgets: <b>big</b> news"
    assert first.summary == "Hello world!" and "alert" not in first.summary
    assert first.author == "Jane Doe" and first.thumbnail == "https://img.example/1.jpg"
    assert first.published is not None and first.published.isoformat() == "2026-12-01T10:00:00+00:00"
    assert second.summary == "Plain & simple" and second.link == "https://widgets.example/posts/2"
    assert len({first.key, second.key, third.key}) == 3
    again = parse_feed(RSS_REAL.encode(), "http://other/", "")
    assert [i.key for i in again.items] == [first.key, second.key, third.key]  # stable across fetches and URLs


async def test_atom_relative_links_resolve_against_xml_base(feeds: FeedServer, fetcher: Fetcher) -> None:
    feed = await fetch_and_parse(feeds, fetcher, "/atom", ATOM_XML_BASE, "application/atom+xml")

    (entry,) = feed.items  # type: ignore[attr-defined]
    assert entry.link == "https://blog.example/sub/posts/first.html"
    assert entry.title == "<em>First</em> post" or entry.title == "First post"
    assert entry.summary == "Summary with a link" and entry.author == "Ann"


@pytest.mark.parametrize(("body", "title"), [(RDF, "RDF item"), (RSS_091, "Old item")])
def test_rdf_and_rss_091(body: str, title: str) -> None:
    feed = parse_feed(body.encode(), "https://x.example/", "text/xml")
    assert [i.title for i in feed.items] == [title]


def test_youtube_atom_keys_on_the_video_id_and_has_a_thumbnail() -> None:
    feed = parse_feed(YOUTUBE.encode(), "https://www.youtube.com/feeds/videos.xml?channel_id=x", "")
    (video,) = feed.items
    assert feed.kind == "youtube" and video.thumbnail.startswith("https://i.ytimg.com/")
    assert video.link == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    other = YOUTUBE.replace("<id>yt:video:dQw4w9WgXcQ</id>", "<id>something-else</id>")
    assert parse_feed(other.encode(), "u", "").items[0].key == video.key


async def test_encodings_declared_in_the_prolog_are_honoured(feeds: FeedServer, fetcher: Fetcher) -> None:
    latin = await fetch_and_parse(feeds, fetcher, "/latin", LATIN1, "application/xml")
    japanese = await fetch_and_parse(feeds, fetcher, "/sjis", SHIFT_JIS, "application/rss+xml")

    assert latin.title == "Café" and latin.items[0].title == "Crème brûlée"  # type: ignore[attr-defined]
    assert japanese.title == "ニュース" and japanese.items[0].title == "今日のお知らせ"  # type: ignore[attr-defined]


async def test_json_feed(feeds: FeedServer, fetcher: Fetcher) -> None:
    feed = await fetch_and_parse(feeds, fetcher, "/json", json.dumps(JSON_FEED), "application/feed+json")

    second, first = feed.items  # type: ignore[attr-defined]
    assert feed.kind == "json" and feed.title == "JSON Blog"  # type: ignore[attr-defined]
    assert second.summary == "Two bold" and second.author == "Feed Author"
    assert second.thumbnail == "https://json.example/2.png" and second.published is not None
    assert first.summary == "First, untitled" and first.author == "Bo"


@pytest.mark.parametrize(
    ("body", "ctype", "reason"),
    [
        (b"<html><body>hello</body></html>", "text/html", "not an RSS, Atom or JSON feed"),
        (b"just text", "text/plain", "not XML or JSON"),
        (b"<rss><channel><title>broken", "text/xml", ""),
        (BILLION_LAUGHS.encode(), "text/xml", "declares XML entities"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}', "application/json", "items"),
        (b'{"version": "nope", "title": "x", "items": []}', "application/json", "version"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[" * 100_000, "application/json", "not valid JSON"),
    ],
)
def test_what_is_not_a_feed_says_why(body: bytes, ctype: str, reason: str) -> None:
    try:
        feed = parse_feed(body, "https://x.example/", ctype)
    except NotAFeed as exc:
        assert reason in str(exc)
        return
    # feedparser's lenient mode reads a truncated document; it must not invent items
    assert reason == "" and feed.items == []


def test_long_fields_and_control_characters_are_bounded() -> None:
    body = rss([{"title": "t\x01" + "x" * 5000, "guid": "1", "description": "y" * 10000}])
    (item,) = parse_feed(body, "u", "").items
    assert len(item.title) <= 256 and "\x01" not in item.title and len(item.summary) <= 500


def test_youtube_references() -> None:
    base = "https://www.youtube.com"
    cid = "UCabcdefghijklmnopqrstuv"
    assert youtube_reference(cid, base) == ("id", cid)
    assert youtube_reference(f"https://www.youtube.com/channel/{cid}", base) == ("id", cid)
    assert youtube_reference("https://www.youtube.com/@omo-bot", base) == ("handle", "@omo-bot")
    assert youtube_reference("@omo", base) == ("handle", "@omo")
    assert youtube_reference("https://example.org/@omo", base) is None
    assert youtube_reference("https://example.org/feed.xml", base) is None


async def test_a_handle_resolves_through_the_channel_page(feeds: FeedServer, fetcher: Fetcher) -> None:
    cid = "UCabcdefghijklmnopqrstuv"
    feeds.set(
        "/@omo",
        f'<html><link rel="canonical" href="https://www.youtube.com/channel/{cid}"></html>',
        content_type="text/html",
    )
    feeds.set("/@empty", "<html>nothing</html>", content_type="text/html")
    base = feeds.url("")

    url = await resolve(f"{base}/@omo", base, fetcher)
    by_id = await resolve(cid, base, fetcher)
    with pytest.raises(FetchError) as missing:
        await resolve("@empty", base, fetcher)

    assert url == by_id == f"{base}/feeds/videos.xml?channel_id={cid}"
    assert missing.value.kind == "not_a_feed"
    assert await resolve("https://example.org/rss", base, fetcher) is None
