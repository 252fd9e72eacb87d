"""The gate covers prefix commands and per-guild jobs too; intents come from the plugins; shards split guilds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually

ECHO = {"echo": {"module": "tests.sample_plugins.echo"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return ECHO


async def test_prefix_command_refused_where_plugin_disabled(emulator: Emulator, runtime: Any, guild: Any) -> None:
    other = emulator.create_guild("Other")
    alice = emulator.create_member(guild, "alice")
    bob = emulator.create_member(other, "bob")
    await runtime.gate.set_enabled(guild.id, "echo", False)

    await emulator.send_message(alice, emulator.general(guild), "!shout quiet")
    refused = await emulator.wait_for_bot_message(emulator.general(guild), timeout=5)
    await emulator.send_message(bob, emulator.general(other), "!shout loud")
    served = await emulator.wait_for_bot_message(emulator.general(other), timeout=5)

    assert "disabled in this server" in refused["content"]
    assert served["content"] == "LOUD"


async def test_per_guild_job_runs_only_for_enabled_guilds(emulator: Emulator, runtime: Any, guild: Any) -> None:
    other = emulator.create_guild("Other")
    await eventually(lambda: runtime.bot.get_guild(other.id) is not None, what="the bot seeing the new guild")
    await runtime.gate.set_enabled(guild.id, "echo", False)
    # the live module's list: a reload in an earlier test re-imports the plugin as a new module object
    events = runtime.host.loaded("echo").module.events

    def runs_in_other() -> int:
        return int(events.count(("guild_job", other.id)))

    await eventually(lambda: runs_in_other() >= 1, what="a run in the enabled guild")
    events.clear()  # from here on every pass of the job sees the switch
    await eventually(lambda: runs_in_other() >= 3, what="three more passes of the job")

    guilds = {e[1] for e in events if e[0] == "guild_job"}
    assert guilds == {other.id}


async def test_intents_are_what_the_enabled_plugins_declare(runtime_factory: Any) -> None:
    without = await runtime_factory({}, connect=False)
    assert not without.bot.intents.message_content
    await without.stop()

    with_echo = await runtime_factory(ECHO, connect=False)
    assert with_echo.bot.intents.message_content  # echo declares it
    assert with_echo.bot.intents.guilds and with_echo.bot.intents.members


async def test_two_shards_each_get_their_guilds(emulator: Emulator, runtime_factory: Any) -> None:
    guilds = []
    # a snowflake's shard comes from its millisecond timestamp: create guilds (a millisecond or more apart)
    # until each shard has some; a loaded machine can otherwise land a few of them all on one shard
    while len(guilds) < 6 or len({(g.id >> 22) % 2 for g in guilds}) < 2:
        assert len(guilds) < 200, "the emulator's snowflakes never reached the second shard"
        guilds.append(emulator.create_guild(f"G{len(guilds)}"))
        await asyncio.sleep(0.0011)
    expected = {shard: {g.id for g in guilds if (g.id >> 22) % 2 == shard} for shard in (0, 1)}

    runtime = await runtime_factory({}, shard_count=2)

    for shard in (0, 1):
        seen = {g.id for g in runtime.bot.guilds if g.shard_id == shard}
        assert expected[shard] <= seen
    assert sorted(runtime.bot.shards) == [0, 1]
    report = await runtime.readiness()
    assert report["gateway"]["ok"] and len(report["gateway"]["shards"]) == 2


async def test_mention_prefix_and_wait_for_still_see_their_messages(
    emulator: Emulator, runtime: Any, guild: Any
) -> None:
    """Core skips the command context for messages that cannot be commands: mentions still invoke commands, and
    ``wait_for("message")`` still receives messages without a prefix."""
    alice = emulator.create_member(guild, "alice")
    channel = emulator.general(guild)
    bot = runtime.bot

    await emulator.send_message(alice, channel, f"<@{bot.user.id}> shout mentioned")
    served = await emulator.wait_for_bot_message(channel, timeout=5)
    waiting = asyncio.ensure_future(bot.wait_for("message", check=lambda m: m.content == "plain words", timeout=5))
    await eventually(lambda: bot._listeners.get("message"))
    await emulator.send_message(alice, channel, "plain words")
    seen = await waiting

    assert served["content"] == "MENTIONED"
    assert seen.author.id == alice.user_id
