"""The demo set-up: local feeds, subscriptions in the demo guild, items arriving, a scheduled post."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.demo import build_world
from core.testing.emulator import Emulator
from plugins.dailies.models import Schedule, Subscription
from tests.dailies.helpers import Clock, state, use_clock


async def test_demo_feeds_are_subscribed_and_new_items_arrive(emulator: Emulator, runtime_factory: Any) -> None:
    world = build_world(emulator, 3)
    runtime = await runtime_factory({"dailies": {}})
    loaded = runtime.host.loaded("dailies")
    await loaded.module.omo_demo_setup(plugin=loaded.context, demo=world)
    clock = Clock(datetime.now(UTC))  # the demo subscribed on the real clock
    st = use_clock(runtime, clock)
    feeds_channel = next(c for c in world.text_channels if c.name == "feeds")

    clock.advance(minutes=2)
    await st.poller.tick()
    first = len(emulator.sent_messages(feeds_channel))
    server = state(runtime).closers[0].__self__  # the feed server, stopped with the plugin
    server.started -= 60  # a minute later: one more item in every feed
    clock.advance(minutes=2)
    await st.poller.tick()
    second = len(emulator.sent_messages(feeds_channel))

    assert await Subscription.filter(guild_id=world.guild.id).count() == 4
    assert await Schedule.filter(guild_id=world.guild.id).count() == 1
    assert first == 3  # the newest item of each instant feed (the JSON feed is a digest)
    assert second == 6
