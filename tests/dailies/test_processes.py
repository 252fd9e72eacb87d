"""Restarts and several processes: every item is posted exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from plugins.dailies.models import Entry, Feed
from plugins.dailies.service import Target
from tests.dailies.feedserver import FeedServer, rss
from tests.dailies.helpers import Clock, dailies_plugin, use_clock

PLUGINS = {"dailies": dailies_plugin()}


def item(n: int) -> dict[str, str]:
    return {"title": f"Item {n}", "link": f"https://news.example/{n}", "guid": f"g{n}"}


def links(emulator: Emulator, channel: Any) -> list[str]:
    return [e["url"] for m in emulator.sent_messages(channel) for e in m.get("embeds") or [] if e.get("url")]


async def test_a_restart_in_the_middle_of_a_cycle_posts_nothing_twice(
    emulator: Emulator, guild: Guild, runtime_factory: Any, feeds: FeedServer
) -> None:
    general = emulator.general(guild)
    first = await runtime_factory(PLUGINS)
    clock = Clock()
    st = use_clock(first, clock)
    url = feeds.set("/r", rss([item(0)]))
    await st.service.add_subscription(guild.id, url, Target(general.id))
    feeds.set("/r", rss([item(n) for n in range(4, -1, -1)]))
    clock.advance(hours=1)
    feed = await Feed.get()
    assert await st.service.lease([feed])
    await st.service.poll(feed)  # found and claimed as pending ...
    pending = await Entry.filter(status="pending").order_by("id")
    await st.service._claim([pending[0].id])  # ... one of them is being posted ...
    await st.sender.send(Target(general.id), _post(pending[0].item))  # ... and reached Discord
    await first.stop()  # the process dies before recording it

    second = await runtime_factory(PLUGINS)
    clock.advance(minutes=5)
    st2 = use_clock(second, clock)
    st2.poller.recovered = False
    await st2.poller.tick()
    clock.advance(hours=1)
    await st2.poller.tick()

    assert links(emulator, general) == [f"https://news.example/{n}" for n in range(1, 5)]
    assert await Entry.filter(status="posted").count() == 4


def _post(data: dict[str, Any]) -> Any:
    from plugins.dailies.parse import FeedItem
    from plugins.dailies.render import item_post

    return item_post(FeedItem.from_dict(data), str(data.get("source", "")), "", True)


@pytest.mark.postgres
async def test_two_runtimes_on_one_postgresql_post_each_item_once(
    emulator: Emulator, guild: Guild, runtime_factory: Any, feeds: FeedServer
) -> None:
    general = emulator.general(guild)
    first = await runtime_factory(PLUGINS)
    second = await runtime_factory(PLUGINS)
    clock = Clock()
    one, two = use_clock(first, clock), use_clock(second, clock)
    urls = [feeds.set(f"/f{i}", rss([item(100 * i)])) for i in range(5)]
    for url in urls:
        await one.service.add_subscription(guild.id, url, Target(general.id))

    for round_ in range(1, 4):
        for i in range(5):
            feeds.set(f"/f{i}", rss([item(100 * i + n) for n in range(round_, -1, -1)]))
        clock.advance(hours=1)
        await asyncio.gather(one.poller.tick(), two.poller.tick(), one.poller.tick(), two.poller.tick())

    posted = links(emulator, general)
    assert len(posted) == len(set(posted)) == 15
    assert sum(feeds.hits[f"/f{i}"] for i in range(5)) == 5 + 15  # one fetch per feed per cycle, whoever won it
