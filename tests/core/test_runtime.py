"""Runtime behaviour: command sync by hash, plugins.toml live changes, start-up errors, core commands."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import pytest
import tomlkit

from core.environment import Environment
from core.errors import DatabaseError
from core.plugin_host import PluginState
from core.runtime import RunOptions, Runtime
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually
from tests.core import probe
from tests.core.conftest import PluginWriter, section

ECHO = {"module": "tests.sample_plugins.echo"}


async def test_commands_synced_only_when_they_changed(
    emulator: Emulator, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("dyn")
    first = await runtime_factory({"dyn": section(module)})
    syncs_after_first = len(emulator.bot_actions("commands.overwrite"))
    await first.stop()

    await runtime_factory({"dyn": section(module)})  # same commands, same database
    syncs_after_restart = len(emulator.bot_actions("commands.overwrite"))

    assert syncs_after_first == 1
    assert syncs_after_restart == 1


async def test_commands_resynced_after_reload_adds_a_command(
    emulator: Emulator, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("dyn", commands=1)
    runtime = await runtime_factory({"dyn": section(module)})

    plugin_writer.write("dyn", commands=2, module=module)
    report = await runtime.host.reload("dyn")
    await eventually(
        lambda: "dynx1" in [c["name"] for c in emulator.registered_commands()], what="the new command synced"
    )

    assert report.commands_changed


async def test_help_lists_only_commands_of_plugins_enabled_in_the_guild(
    emulator: Emulator, guild: Any, runtime_factory: Any
) -> None:
    runtime = await runtime_factory({"echo": ECHO})
    member = emulator.create_member(guild, "alice")

    before = await emulator.invoke(member, emulator.general(guild), "help")
    await runtime.gate.set_enabled(guild.id, "echo", False)
    after = await emulator.invoke(member, emulator.general(guild), "help")

    assert "/echo" in before.embeds[0]["description"]
    assert "/echo" not in after.embeds[0]["description"]
    assert "/help" in after.embeds[0]["description"]


async def test_plugins_reload_command_is_for_operators_only(
    emulator: Emulator, guild: Any, runtime_factory: Any
) -> None:
    operator = emulator.create_member(guild, "operator")
    other = emulator.create_member(guild, "someone")
    await runtime_factory({"echo": ECHO}, owners=[operator.id])

    refused = await emulator.invoke(other, emulator.general(guild), "plugins reload", plugin="echo")
    done = await emulator.invoke(operator, emulator.general(guild), "plugins reload", plugin="echo")

    assert "Only the bot's operators" in (refused.content or "")
    followups = done.followups or await done.wait_for_followups(1)
    assert "Reloaded **echo**" in followups[0]["content"]


async def test_plugins_toml_change_is_applied_and_bad_file_rejected(
    runtime_factory: Any, plugin_writer: PluginWriter, tmp_path: Any
) -> None:
    one = plugin_writer.write("one")
    two = plugin_writer.write("two")
    runtime = await runtime_factory({"one": section(one)}, connect=False)
    path = runtime.plugins_file_path

    doc = tomlkit.parse(path.read_text())
    doc["plugins"]["two"] = {"enabled": True, "module": two}  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))
    await eventually(lambda: runtime.host.loaded("two"), what="plugin two loaded")

    good_text = path.read_text()
    path.write_text(good_text.replace("enabled = true", "enabled = 'sure'", 1))
    await eventually(lambda: runtime.plugins_file_error, what="the bad file rejected")

    assert runtime.plugins_file_error and "Input should be a valid boolean" in runtime.plugins_file_error
    assert f"{path}:" in runtime.plugins_file_error
    assert set(runtime.host.enabled_names()) == {"one", "two"}  # last good file still in force

    doc = tomlkit.parse(good_text)
    doc["plugins"]["one"]["enabled"] = False  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))
    await eventually(lambda: runtime.host.records["one"].state == PluginState.DISABLED, what="plugin one disabled")
    assert runtime.plugins_file_error is None


async def test_sighup_rereads_plugins_toml(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    one = plugin_writer.write("one")
    two = plugin_writer.write("two")
    runtime = await runtime_factory({"one": section(one)}, connect=False, watch_interval=3600)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(runtime.apply_plugins_file()))
    try:
        doc = tomlkit.parse(runtime.plugins_file_path.read_text())
        doc["plugins"]["two"] = {"enabled": True, "module": two}  # type: ignore[index]
        runtime.plugins_file_path.write_text(tomlkit.dumps(doc))
        os.kill(os.getpid(), signal.SIGHUP)
        await eventually(lambda: runtime.host.loaded("two"), what="plugin two loaded")
    finally:
        loop.remove_signal_handler(signal.SIGHUP)

    assert runtime.host.loaded("two") is not None
    assert ("setup", "two", "1") in probe.EVENTS


async def test_unreachable_database_at_start_is_a_clear_error(tmp_path: Any) -> None:
    env = Environment.from_environ(
        {
            "OMO_DATA_DIR": str(tmp_path),
            "OMO_PLUGINS_FILE": str(tmp_path / "none.toml"),
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/omo",
        }
    )
    runtime = Runtime(env, RunOptions(connect_gateway=False, web_port=0, control_socket=False))

    with pytest.raises(DatabaseError, match="database unreachable while connecting"):
        await runtime.start()
    await runtime.stop()


async def test_unmigrated_database_says_what_to_run(tmp_path: Any, database_url: str) -> None:
    env = Environment.from_environ(
        {
            "OMO_DATA_DIR": str(tmp_path),
            "OMO_PLUGINS_FILE": str(tmp_path / "none.toml"),
            "DATABASE_URL": database_url,
        }
    )
    runtime = Runtime(env, RunOptions(connect_gateway=False, web_port=0, control_socket=False))

    with pytest.raises(DatabaseError, match="run `omo db upgrade`"):
        await runtime.start()
    await runtime.stop()


async def test_bad_settings_default_in_plugins_toml_fails_that_plugin_with_line(
    runtime_factory: Any,
) -> None:
    runtime = await runtime_factory({"echo": {**ECHO, "settings": {"repeat": 99}}}, connect=False)

    record = runtime.host.records["echo"]
    assert record.state == PluginState.FAILED
    assert "[plugins.echo.settings] repeat" in (record.error or "")
    assert "plugins.toml:" in (record.error or "")


async def test_settings_defaults_from_plugins_toml_reach_the_plugin(
    emulator: Emulator, guild: Any, runtime_factory: Any
) -> None:
    await runtime_factory({"echo": {**ECHO, "settings": {"prefix": "~", "repeat": 2}}})
    member = emulator.create_member(guild, "alice")

    answer = await emulator.invoke(member, emulator.general(guild), "echo", text="x")

    assert answer.content == "~x~x"


@pytest.mark.postgres  # cross-process switches travel by PostgreSQL LISTEN/NOTIFY
async def test_plugin_switch_reaches_another_process_through_postgres(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("dyn")
    first = await runtime_factory({"dyn": section(module)}, connect=False)
    second = await runtime_factory({"dyn": section(module)}, connect=False)
    assert first.bus.origin != second.bus.origin

    await first.gate.set_enabled(1234, "dyn", False, actor_id=9)
    await eventually(lambda: not second.gate.is_enabled(1234, "dyn"), what="the switch in the other process")

    assert first.gate.is_enabled(1234, "dyn") is False


SLOW_JOB_PLUGIN = """
import asyncio
import logging
from core.plugin import PluginContext, PluginInfo, hookimpl
from tests.core import probe


@hookimpl
def omo_plugin_info():
    return PluginInfo(version="1")


@hookimpl
def omo_setup(plugin: PluginContext) -> None:
    async def write() -> None:
        probe.record("write-start")
        await asyncio.sleep(0.4)
        probe.record("write-end")

    plugin.every(60, write, name="write", initial_delay=0)
"""


async def test_stop_lets_a_running_job_finish_its_write(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    package = plugin_writer.root / "dyn_slowjob"
    package.mkdir()
    (package / "__init__.py").write_text(SLOW_JOB_PLUGIN)
    runtime = await runtime_factory({"slowjob": section("dyn_slowjob")}, connect=False)
    await eventually(lambda: probe.of("write-start"), what="the job's write starting")

    await asyncio.wait_for(runtime.stop(), 10)

    assert probe.of("write-start") and probe.of("write-end")


async def test_dev_guild_gets_the_commands_instead_of_global(
    emulator: Emulator, guild: Any, runtime_factory: Any
) -> None:
    await runtime_factory({"echo": ECHO}, dev_guild=guild.id)

    in_guild = {c["name"] for c in emulator.registered_commands(guild)}
    assert {"echo", "help", "plugins"} <= in_guild
    assert emulator.registered_commands() == []


async def test_stop_with_an_idle_keep_alive_connection_logs_no_error(runtime_factory: Any, caplog: Any) -> None:
    runtime = await runtime_factory({})
    reader, writer = await asyncio.open_connection("127.0.0.1", runtime.web_port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: omo\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")

    with caplog.at_level(logging.ERROR):
        await runtime.stop()
        await asyncio.sleep(0.1)  # let the loop run the cancelled connection's callbacks
    writer.close()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_freeze_heap_freezes_what_start_up_left(runtime_factory: Any) -> None:
    import gc

    gc.unfreeze()
    try:
        plain = await runtime_factory({})  # the default (tests, embedding) leaves the heap alone
        after_plain = gc.get_freeze_count()
        frozen = await runtime_factory({}, freeze_heap=True)  # as `omo run` and `omo demo` start
        after_frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert not plain.options.freeze_heap and after_plain == 0
    assert frozen.options.freeze_heap and after_frozen > 10_000


SLOW_LISTENER_PLUGIN = """
import asyncio
import discord
from discord import app_commands
from discord.ext import commands
from core.plugin import PluginContext, PluginInfo, hookimpl
from tests.core import probe


class Slow(commands.Cog):
    @app_commands.command(name="slowcmd", description="answers slowly")
    async def slowcmd(self, interaction: discord.Interaction) -> None:
        probe.record("command-start")
        await asyncio.sleep(0.4)
        await interaction.response.send_message("done slowly")

    @commands.Cog.listener()
    async def on_message(self, message) -> None:
        if message.author.bot or message.content != "slow":
            return
        probe.record("handler-start")
        await asyncio.sleep(0.4)
        await message.channel.send("finished")  # the reply still reaches Discord while the process stops
        probe.record("handler-end")


@hookimpl
def omo_plugin_info():
    return PluginInfo(version="1", intents=("message_content",))


@hookimpl
def omo_cogs(plugin: PluginContext):
    return [Slow()]
"""


async def _slow_runtime(emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter) -> Any:
    """A runtime with the slow listener/command plugin, and a member to trigger it."""
    package = plugin_writer.root / "dyn_slowlistener"
    package.mkdir()
    (package / "__init__.py").write_text(SLOW_LISTENER_PLUGIN)
    runtime = await runtime_factory({"slowlistener": section("dyn_slowlistener")})
    return runtime, emulator.create_member(guild, "sam")


async def test_stop_lets_a_running_event_handler_finish_and_reply(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    runtime, member = await _slow_runtime(emulator, guild, runtime_factory, plugin_writer)
    await emulator.send_message(member, emulator.general(guild), "slow")
    await eventually(lambda: probe.of("handler-start"), what="the listener starting")

    await asyncio.wait_for(runtime.stop(), 10)

    assert probe.of("handler-end")
    assert [m["content"] for m in emulator.messages(emulator.general(guild))][-1] == "finished"


async def test_stop_lets_a_running_app_command_answer(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    runtime, member = await _slow_runtime(emulator, guild, runtime_factory, plugin_writer)
    answer = asyncio.ensure_future(emulator.invoke(member, emulator.general(guild), "slowcmd"))
    await eventually(lambda: probe.of("command-start"), what="the command starting")

    await asyncio.wait_for(runtime.stop(), 10)

    assert (await answer).content == "done slowly"


async def test_readiness_can_be_awaited_before_the_bot_has_logged_in(emulator: Emulator, runtime_factory: Any) -> None:
    # discord.py's wait_until_ready raises until login has run; since Python 3.12 asyncio.wait_for runs its
    # awaitable at once, so a readiness wait started beside the gateway task used to fail before login
    runtime = await runtime_factory({}, connect=False)
    waiting = asyncio.ensure_future(runtime.bot.wait_ready_or_timeout(15))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "the readiness wait ended before the bot had logged in"

    gateway = asyncio.create_task(runtime.bot.start(emulator.bot_token))
    try:
        assert await waiting is True
        assert runtime.bot.is_ready()
    finally:
        await runtime.bot.close()
        await asyncio.wait_for(gateway, 5)
