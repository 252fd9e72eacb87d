"""Feeds end to end through the emulator: subscribe, poll, post once; digests, filters, caps, backoff, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.clock import ManualClock
from core.testing.emulator import Emulator, Guild, Member
from core.testing.pytest_plugin import eventually
from plugins.dailies.models import Entry, Feed, Subscription
from plugins.dailies.service import Target
from tests.dailies.feedserver import FeedServer, rss
from tests.dailies.helpers import Clock, dailies_plugin, state, use_clock


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "dailies": dailies_plugin()}


def item(n: int, **extra: str) -> dict[str, str]:
    return {"title": f"Item {n}", "link": f"https://news.example/{n}", "guid": f"g{n}", **extra}


def posted_links(emulator: Emulator, channel: Any) -> list[str]:
    out = []
    for m in emulator.sent_messages(channel):
        for e in m.get("embeds") or []:
            if e.get("url"):
                out.append(e["url"])
    return out


async def subscribe(emulator: Emulator, admin: Member, guild: Guild, url: str, **options: Any) -> Any:
    answer = await emulator.invoke(
        admin, emulator.general(guild), "dailies add", source=url, channel=emulator.general(guild), **options
    )
    assert "Subscription #" in (answer.content or ""), answer.content
    return answer


async def test_new_items_are_posted_once_and_old_ones_never(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    url = feeds.set("/news", rss([item(2), item(1)]))

    answer = await subscribe(emulator, admin, guild, url)
    feeds.set("/news", rss([item(4), item(3), item(2), item(1)]))
    clock.advance(hours=1)
    first = await st.poller.tick()
    clock.advance(hours=1)
    second = await st.poller.tick()

    assert answer.ephemeral and "Items already in the feed are not posted" in answer.content
    assert posted_links(emulator, general) == ["https://news.example/3", "https://news.example/4"]
    assert first.new_items == 2 and second.new_items == 0  # the scheduler's clock stands still: no other cycle
    sub = await Subscription.get(guild_id=guild.id)
    assert sub.items_posted == 2
    assert await Entry.filter(status="posted").count() == 2


async def test_one_fetch_per_url_shared_by_subscribers_and_conditional_get(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    other = emulator.create_channel(guild, "other")
    url = feeds.set("/shared", rss([item(1)]), etag='"e1"')
    await subscribe(emulator, admin, guild, url)
    await emulator.invoke(admin, general, "dailies add", source=url, channel=other)
    hits_after_adding = feeds.hits["/shared"]

    feeds.set("/shared", rss([item(2), item(1)]), etag='"e2"')
    clock.advance(hours=1)
    await st.poller.tick()
    clock.advance(hours=1)
    await st.poller.tick()  # 304

    assert await Feed.all().count() == 1
    assert feeds.hits["/shared"] - hits_after_adding == 2
    assert feeds.requests[-1].get("If-None-Match") == '"e2"'
    assert posted_links(emulator, general) == ["https://news.example/2"]
    assert posted_links(emulator, other) == ["https://news.example/2"]


async def test_filters_keep_and_drop_items(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    url = feeds.set("/f", rss([item(0)]))
    await subscribe(emulator, admin, guild, url, include="python, rust", exclude="sponsored", exclude_regex=r"^ad\b")

    feeds.set(
        "/f",
        rss(
            [
                item(1, title="Python 3.14 released"),
                item(2, title="Rust news", description="sponsored content"),
                item(3, title="Gardening"),
                item(4, title="ad: python course"),
                item(5, title="RUST in production"),
                item(0),
            ]
        ),
    )
    clock.advance(hours=1)
    await st.poller.tick()

    # the feed lists newest first: posted oldest first
    assert posted_links(emulator, emulator.general(guild)) == ["https://news.example/5", "https://news.example/1"]


async def test_plain_template_and_webhook_with_its_own_name(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    url = feeds.set("/t", rss([item(0)]))
    await subscribe(
        emulator,
        admin,
        guild,
        url,
        template="New: {{ title|upper }} by {{ author or 'nobody' }} <{{ link }}> from {{ source }}",
        embed=False,
        webhook_name="News Bot",
        webhook_avatar="https://img.example/a.png",
    )

    feeds.set("/t", rss([item(1, description="<p>Hi</p>"), item(0)]))
    clock.advance(hours=1)
    await st.poller.tick()

    executed = emulator.bot_actions("webhook.execute")
    assert len(executed) == 1
    assert executed[0]["content"] == "New: ITEM 1 by nobody <https://news.example/1> from Example News"
    messages = emulator.messages(emulator.general(guild))
    assert messages[-1]["author"]["username"] == "News Bot"


async def test_per_fetch_cap_posts_the_newest_and_one_summary(
    emulator: Emulator, guild: Guild, runtime_factory: Any, admin: Member, feeds: FeedServer
) -> None:
    runtime = await runtime_factory({"config": {}, "dailies": dailies_plugin(per_fetch_cap=2)})
    clock = Clock()
    st = use_clock(runtime, clock)
    url = feeds.set("/burst", rss([item(0)]))
    await subscribe(emulator, admin, guild, url)

    feeds.set("/burst", rss([item(n) for n in range(6, -1, -1)]))
    clock.advance(hours=1)
    await st.poller.tick()

    general = emulator.general(guild)
    assert posted_links(emulator, general) == ["https://news.example/5", "https://news.example/6"]
    summaries = [m for m in emulator.sent_messages(general) if "4 more new items" in (m.get("content") or "")]
    assert len(summaries) == 1


async def test_digest_posts_once_at_the_local_time(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()  # 08:00 UTC
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    url = feeds.set("/d", rss([item(0)]))
    await emulator.invoke(admin, general, "config set", plugin="dailies", key="timezone", value="Asia/Tokyo")
    await subscribe(emulator, admin, guild, url, mode="digest", time="20:00")

    feeds.set("/d", rss([item(2), item(1), item(0)]))
    clock.advance(minutes=30)  # 17:30 in Tokyo
    await st.poller.tick()
    before = len([m for m in emulator.sent_messages(general) if m.get("embeds")])
    clock.advance(hours=3)  # 20:30 in Tokyo
    await st.poller.tick()
    clock.advance(hours=1)
    await st.poller.tick()

    digests = [m for m in emulator.sent_messages(general) if m.get("embeds")]
    assert before == 0
    assert len(digests) == 1
    text = digests[0]["embeds"][0]["description"]
    assert "[Item 1](https://news.example/1)" in text and "[Item 2](https://news.example/2)" in text


async def test_failures_back_off_then_disable_with_a_notice_and_resume(
    emulator: Emulator, guild: Guild, runtime_factory: Any, admin: Member, feeds: FeedServer
) -> None:
    runtime = await runtime_factory({"config": {}, "dailies": dailies_plugin(max_failures=3)})
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    url = feeds.set("/flaky", rss([item(0)]))
    await subscribe(emulator, admin, guild, url)
    feeds.set("/flaky", b"down", status=503, headers={"Retry-After": "10"})

    delays = []
    for _ in range(3):
        feed = await Feed.get()
        clock.now = feed.next_check
        await st.poller.tick()
        feed = await Feed.get()
        delays.append(round((feed.next_check - clock.now).total_seconds()))

    sub = await Subscription.get()
    notice = [m for m in emulator.sent_messages(general) if "was disabled" in (m.get("content") or "")]
    assert delays == [300, 600, 1200]
    assert not sub.enabled and "disabled after 3 failed checks" in (sub.disabled_reason or "")
    assert len(notice) == 1 and "/dailies resume" in notice[0]["content"]
    listing = await emulator.invoke(admin, general, "dailies list")
    assert "disabled after 3 failed checks" in listing.embeds[0]["description"]

    feeds.set("/flaky", rss([item(1), item(0)]))
    resumed = await emulator.invoke(admin, general, "dailies resume", subscription=sub.id)
    await st.poller.tick()

    assert "resumed" in (resumed.content or "")
    assert posted_links(emulator, general) == ["https://news.example/1"]


async def test_a_crash_between_claim_and_post_is_resolved_on_start_up_without_duplicates(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    url = feeds.set("/c", rss([item(0)]))
    await subscribe(emulator, admin, guild, url)
    sub = await Subscription.get()
    sender = st.sender
    # item 1 was claimed and sent, then the process died before marking it posted
    await sender.send(Target(general.id), _post_of(1))
    await Entry.create(subscription_id=sub.id, key="k1", status="posting", item=_item(1), claimed_at=clock.now)
    # item 2 was claimed, and the process died before sending it
    await Entry.create(subscription_id=sub.id, key="k2", status="posting", item=_item(2), claimed_at=clock.now)

    clock.advance(minutes=10)
    st.poller.recovered = False
    await st.poller.tick()
    await st.poller.tick()

    assert posted_links(emulator, general) == ["https://news.example/1", "https://news.example/2"]
    assert set(await Entry.filter(key__in=["k1", "k2"]).values_list("status", flat=True)) == {"posted"}


async def test_discord_errors_on_the_post_retry_without_duplicates(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    url = feeds.set("/e", rss([item(0)]))
    await subscribe(emulator, admin, guild, url)

    feeds.set("/e", rss([item(1), item(0)]))
    emulator.fail_next("POST /channels/{channel_id}/messages", status=429, count=2, retry_after=0.05)
    clock.advance(hours=1)
    await st.poller.tick()  # discord.py waits out the 429s and posts once
    feeds.set("/e", rss([item(2), item(1), item(0)]))
    emulator.fail_next("POST /channels/{channel_id}/messages", status=403)
    clock.advance(hours=1)
    await st.poller.tick()  # refused: back to pending
    failed = await Entry.get(status="pending")
    await st.poller.tick()  # too early for the retry
    clock.advance(minutes=1)
    await st.poller.tick()

    assert failed.attempts == 1
    assert posted_links(emulator, general) == ["https://news.example/1", "https://news.example/2"]


def _item(n: int) -> dict[str, Any]:
    return {"key": f"k{n}", "title": f"Item {n}", "link": f"https://news.example/{n}", "source": "Example News"}


def _post_of(n: int) -> Any:
    from plugins.dailies.parse import FeedItem
    from plugins.dailies.render import item_post

    return item_post(FeedItem.from_dict(_item(n)), "Example News", "", True)


async def test_the_poll_job_runs_from_the_scheduler(
    emulator: Emulator, guild: Guild, runtime_factory: Any, admin: Member, feeds: FeedServer, clock: ManualClock
) -> None:
    runtime = await runtime_factory({"config": {}, "dailies": dailies_plugin(tick=0.2, min_interval=1)})
    url = feeds.set("/live", rss([item(0)]))
    await subscribe(emulator, admin, guild, url, interval=1)
    await Feed.all().update(interval=1, next_check=datetime.now(UTC))

    feeds.set("/live", rss([item(1), item(0)]))

    def posted() -> bool:
        clock.advance(1)  # the scheduler's time: the poll job (every 0.2 s) runs
        return posted_links(emulator, emulator.general(guild)) == ["https://news.example/1"]

    await eventually(posted, timeout=10, interval=0.1)
    assert state(runtime).poller.recovered


async def test_old_entries_are_pruned_but_items_still_in_the_feed_are_remembered(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, feeds: FeedServer
) -> None:
    clock = Clock()
    st = use_clock(runtime, clock)
    general = emulator.general(guild)
    url = feeds.set("/kept", rss([item(2), item(1)]))
    await subscribe(emulator, admin, guild, url)
    await Entry.all().update(created_at=clock.now)  # stored "now" on the test's clock, not the wall clock

    feeds.set("/kept", rss([item(3), item(2)]))  # item 1 leaves the feed
    clock.advance(days=10)
    await st.poller.tick()
    assert await Entry.all().count() == 3  # item 1 is gone from the feed but within the retention (30 days)
    await Entry.all().update(created_at=clock.now - timedelta(days=10))

    feeds.set("/kept", rss([item(4), item(3), item(2)]))
    clock.advance(days=40)
    await st.poller.tick()
    # item 1 (old, out of the feed) is forgotten; item 2 (old, still in the feed) and item 3 are remembered
    assert await Entry.all().count() == 3
    assert await Entry.filter(status="skipped").count() == 1

    feeds.set("/kept", rss([item(5), item(3), item(2)]))
    clock.advance(hours=1)
    await st.poller.tick()
    assert posted_links(emulator, general) == [f"https://news.example/{n}" for n in (3, 4, 5)]
