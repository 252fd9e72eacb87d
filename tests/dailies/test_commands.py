"""``/dailies`` commands: answers for bad sources and bad arguments, admin checks, preview, post-now, schedules."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from plugins.dailies.models import Schedule, Subscription
from tests.dailies.feedserver import FeedServer, gzip_bomb, rss
from tests.dailies.helpers import Clock, dailies_plugin, use_clock


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"dailies": dailies_plugin(deadline=1.0, max_bytes=64 * 1024)}


def item(n: int) -> dict[str, str]:
    return {
        "title": f"Item {n}",
        "link": f"https://news.example/{n}",
        "guid": f"g{n}",
        "description": f"<b>Body</b> {n}",
    }


async def add(emulator: Emulator, who: Member, guild: Guild, source: str, **options: Any) -> str:
    general = emulator.general(guild)
    answer = await emulator.invoke(who, general, "dailies add", source=source, channel=general, timeout=30, **options)
    return answer.content or ""


async def test_bad_sources_say_what_was_wrong(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    feeds.set("/html", "<html><body>a web page</body></html>", content_type="text/html")
    feeds.set("/slow", rss([]), delay=3)
    feeds.set("/big", b"<rss>" + b"x" * 100_000 + b"</rss>")
    feeds.set("/bomb", gzip_bomb(50_000_000), headers={"Content-Encoding": "gzip"})
    feeds.set("/missing-page", b"", status=404)
    feeds.set("/redirect", status=302, headers={"Location": "http://10.0.0.1/feed"})

    answers = {
        "not a feed": await add(emulator, admin, guild, feeds.url("/html")),
        "timed out": await add(emulator, admin, guild, feeds.url("/slow")),
        "too large": await add(emulator, admin, guild, feeds.url("/big")),
        "bomb": await add(emulator, admin, guild, feeds.url("/bomb")),
        "http": await add(emulator, admin, guild, feeds.url("/missing-page")),
        "blocked": await add(emulator, admin, guild, "http://169.254.169.254/latest"),
        "redirect": await add(emulator, admin, guild, feeds.url("/redirect")),
        "scheme": await add(emulator, admin, guild, "file:///etc/passwd"),
        "unreachable": await add(emulator, admin, guild, "http://127.0.0.1:9/feed"),
        "nonsense": await add(emulator, admin, guild, "just words"),
    }

    assert "That source is not a feed" in answers["not a feed"]
    assert "did not answer in time" in answers["timed out"] and "1 s" in answers["timed out"]
    assert "too large" in answers["too large"] and "too large" in answers["bomb"]
    assert "HTTP 404" in answers["http"]
    assert "blocked" in answers["blocked"] and "169.254.169.254" in answers["blocked"]
    assert "blocked" in answers["redirect"] and "10.0.0.1" in answers["redirect"]
    assert "only http and https" in answers["scheme"]
    assert "unreachable" in answers["unreachable"]
    assert "neither a URL nor a YouTube channel" in answers["nonsense"]
    assert await Subscription.all().count() == 0


async def test_bad_arguments_are_refused_and_nothing_is_stored(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    url = feeds.set("/ok", rss([item(1)]))

    answers = [
        await add(emulator, admin, guild, url, time="25:99"),
        await add(emulator, admin, guild, url, template="{{ title "),
        await add(
            emulator,
            admin,
            guild,
            url,
            template="{% for a in range(9) %}{% for b in range(9) %}{% endfor %}{% endfor %}",
        ),
        await add(emulator, admin, guild, url, include_regex="(unclosed"),
        await add(emulator, admin, guild, url, interval=0),
        await add(emulator, admin, guild, url, webhook_name="x", webhook_avatar="http://insecure.example/a.png"),
    ]

    assert "is not a time like 09:30" in answers[0]
    assert "template syntax error" in answers[1]
    assert "loops inside loops" in answers[2]
    assert "not a valid regular expression" in answers[3]
    assert "must be greater than or equal to 1" in answers[4] or "interval" in answers[4]
    assert "https://" in answers[5]
    assert await Subscription.all().count() == 0


async def test_members_without_manage_server_are_refused(
    emulator: Emulator, guild: Guild, runtime: Any, member: Member, feeds: FeedServer
) -> None:
    url = feeds.set("/ok", rss([item(1)]))
    general = emulator.general(guild)

    answers = [
        await add(emulator, member, guild, url),
        (await emulator.invoke(member, general, "dailies list")).content,
        (await emulator.invoke(member, general, "dailies schedule list")).content,
        (await emulator.invoke(member, general, "dailies preview", source=url)).content,
    ]

    assert all("Manage Server" in (a or "") for a in answers), answers
    assert feeds.hits.get("/ok") is None


async def test_list_pause_resume_remove(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    url = feeds.set("/ok", rss([item(1)]))
    general = emulator.general(guild)
    await add(emulator, admin, guild, url, mode="digest", time="07:15")
    sub = await Subscription.get()

    listed = await emulator.invoke(admin, general, "dailies list")
    paused = await emulator.invoke(admin, general, "dailies pause", subscription=sub.id)
    listed_paused = await emulator.invoke(admin, general, "dailies list")
    missing = await emulator.invoke(admin, general, "dailies pause", subscription=999)
    removed = await emulator.invoke(admin, general, "dailies remove", subscription=sub.id)
    empty = await emulator.invoke(admin, general, "dailies list")

    text = listed.embeds[0]["description"]
    assert f"**#{sub.id}** Example News → <#{general.id}>" in text and "digest at 07:15" in text and "✅ ok" in text
    assert "paused" in paused.content and "⏸️ paused" in listed_paused.embeds[0]["description"]
    assert "no subscription #999" in missing.content
    assert "removed" in removed.content and "No feed subscriptions yet" in empty.content


async def test_preview_shows_the_newest_item_only_to_the_admin(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    url = feeds.set("/ok", rss([item(2), item(1)]))
    general = emulator.general(guild)

    embed = await emulator.invoke(admin, general, "dailies preview", source=url)
    plain = await emulator.invoke(
        admin, general, "dailies preview", source=url, template="{{ title }}: {{ summary }} ({{ source }})", embed=False
    )
    broken = await emulator.invoke(admin, general, "dailies preview", source=url, template="{{ x.y.z }}")

    assert (
        embed.ephemeral and embed.embeds[0]["title"] == "Item 2" and embed.embeds[0]["url"] == "https://news.example/2"
    )
    assert plain.ephemeral and plain.content == "Item 2: Body 2 (Example News)"
    assert "the template failed" in broken.content
    assert await Subscription.all().count() == 0


async def test_post_now_posts_the_newest_item(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    url = feeds.set("/ok", rss([item(2), item(1)]))
    general = emulator.general(guild)
    await add(emulator, admin, guild, url)
    sub = await Subscription.get()

    answer = await emulator.invoke(admin, general, "dailies post-now", subscription=sub.id)

    assert "Posted the newest item" in answer.content
    assert [
        m["embeds"][0]["url"] for m in emulator.sent_messages(general) if m.get("embeds") and not m.get("flags")
    ] == ["https://news.example/2"]


async def test_youtube_handle_through_the_command(
    emulator: Emulator, guild: Guild, runtime_factory: Any, admin: Member, feeds: FeedServer
) -> None:
    runtime = await runtime_factory({"dailies": dailies_plugin(youtube_url=feeds.url(""))})
    assert runtime is not None
    cid = "UCabcdefghijklmnopqrstuv"
    feeds.set("/@omo", f'<meta itemprop="channelId" content="{cid}">', content_type="text/html")
    feeds.set(
        f"/feeds/videos.xml?channel_id={cid}",
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:yt="http://www.youtube.com/xml/schemas/2015">'
        "<title>Omo</title><entry><id>yt:video:v1</id><yt:videoId>v1</yt:videoId><title>Video</title>"
        '<link rel="alternate" href="https://www.youtube.com/watch?v=v1"/></entry></feed>',
        content_type="application/atom+xml",
    )

    answer = await add(emulator, admin, guild, "@omo")

    sub = await Subscription.get().prefetch_related("feed")
    assert "Subscription #" in answer and "**Omo**" in answer
    assert sub.feed.url == f"{feeds.url('')}/feeds/videos.xml?channel_id={cid}"


async def test_scheduled_posts_with_prompts_in_rotation(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member
) -> None:
    clock = Clock()  # Tue 2026-12-01 08:00 UTC
    st = use_clock(runtime, clock)
    general = emulator.general(guild)

    bad_cron = await emulator.invoke(admin, general, "dailies schedule add", channel=general, cron="every day at 9")
    bad_tz = await emulator.invoke(
        admin, general, "dailies schedule add", channel=general, cron="0 9 * * *", timezone="Mars/Base"
    )
    added = await emulator.invoke(
        admin,
        general,
        "dailies schedule add",
        channel=general,
        cron="0 9 * * *",
        timezone="Europe/Paris",
        template="QOTD {{ weekday }}: {{ prompt }}",
        prompts="Tea or coffee? | Cats or dogs?",
    )
    listed = await emulator.invoke(admin, general, "dailies schedule list")
    posts = []
    for _ in range(3):
        clock.advance(days=1)
        await st.poller.tick()
        await st.poller.tick()  # a second run the same day posts nothing
    posts = [m["content"] for m in emulator.sent_messages(general) if (m.get("content") or "").startswith("QOTD")]
    sched = await Schedule.get()
    removed = await emulator.invoke(admin, general, "dailies schedule remove", schedule=sched.id)

    assert "not a cron expression" in bad_cron.content and "not a timezone" in bad_tz.content
    assert "Scheduled post #" in added.content and "Europe/Paris" in added.content
    assert "`0 9 * * *` (Europe/Paris) · 2 prompt(s)" in listed.embeds[0]["description"]
    assert posts == ["QOTD Wednesday: Tea or coffee?", "QOTD Thursday: Cats or dogs?", "QOTD Friday: Tea or coffee?"]
    assert "removed" in removed.content and await Schedule.all().count() == 0


async def test_a_missed_schedule_posts_once_after_downtime(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    await emulator.invoke(admin, general, "dailies schedule add", channel=general, cron="0 9 * * *", template="Daily!")

    clock.advance(days=5)
    await st.poller.tick()
    await st.poller.tick()

    assert [m["content"] for m in emulator.sent_messages(general)].count("Daily!") == 1
