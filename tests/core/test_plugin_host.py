"""Plugin host: load, dependency order, failure isolation, reload with rollback, task ownership."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from core.errors import MigrationRequired, PluginLoadFailed
from core.migrator import make_migration
from core.plugin_host import PluginState
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually
from tests.core import probe
from tests.core.conftest import PluginWriter, section


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_plugins_start_in_dependency_order(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    base = plugin_writer.write("base")
    top = plugin_writer.write("top", requires=("base",))
    # "top" is listed first: the host must still start "base" before it
    runtime = await runtime_factory({"top": section(top), "base": section(base)}, connect=False)

    setups = [e[1] for e in probe.of("setup")]
    assert setups == ["base", "top"]
    assert set(runtime.host.enabled_names()) == {"top", "base"}


async def test_missing_dependency_marks_plugin_failed_and_others_run(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    ok = plugin_writer.write("fine")
    needy = plugin_writer.write("needy", requires=("absent",))
    runtime = await runtime_factory({"fine": section(ok), "needy": section(needy)}, connect=False)

    assert runtime.host.records["needy"].state == PluginState.FAILED
    assert "requires plugin 'absent'" in runtime.host.records["needy"].error
    assert runtime.host.records["fine"].state == PluginState.ENABLED


async def test_dependency_cycle_is_reported(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    a = plugin_writer.write("cyca", requires=("cycb",))
    b = plugin_writer.write("cycb", requires=("cyca",))
    runtime = await runtime_factory({"cyca": section(a), "cycb": section(b)}, connect=False)

    errors = [runtime.host.records[n].error or "" for n in ("cyca", "cycb")]
    assert all(runtime.host.records[n].state == PluginState.FAILED for n in ("cyca", "cycb"))
    assert any("cycle" in e for e in errors)


@pytest.mark.parametrize("failure", ["import_raises", "syntax_error", "setup_raises"])
async def test_failing_plugin_is_isolated(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter, failure: str
) -> None:
    good = plugin_writer.write("good")
    bad = plugin_writer.write("bad", **{failure: True})
    runtime = await runtime_factory({"bad": section(bad), "good": section(good)})
    member = emulator.create_member(guild, "alice")

    record = runtime.host.records["bad"]
    answer = await emulator.invoke(member, emulator.general(guild), "good")

    assert record.state == PluginState.FAILED and record.error
    assert answer.content == "good v1"
    assert "bad" not in [c["name"] for c in emulator.registered_commands()]
    status, _ = await _get(f"{runtime.web_url}/guilds/{guild.id}/bad/")
    assert status == 404
    assert runtime.scheduler.jobs("bad") == []


async def test_unknown_plugin_in_plugins_toml_fails_alone(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    good = plugin_writer.write("good")
    runtime = await runtime_factory({"good": section(good), "nosuchplugin": {}}, connect=False)

    assert runtime.host.records["nosuchplugin"].state == PluginState.FAILED
    assert "unknown plugin 'nosuchplugin'" in runtime.host.records["nosuchplugin"].error
    assert runtime.host.records["good"].state == PluginState.ENABLED


async def test_reload_swaps_command_route_and_job_together(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("dyn", version="1")
    runtime = await runtime_factory({"dyn": section(module)})
    member = emulator.create_member(guild, "alice")
    assert (await emulator.invoke(member, emulator.general(guild), "dyn")).content == "dyn v1"

    plugin_writer.write("dyn", version="2", module=module)
    report = await runtime.host.reload("dyn")
    probe.EVENTS.clear()
    await eventually(lambda: len(probe.of("job")) >= 2, what="two runs of the job after the reload")

    assert (report.old_version, report.new_version) == ("1", "2")
    assert (await emulator.invoke(member, emulator.general(guild), "dyn")).content == "dyn v2"
    # the dashboard route is owned by the guard; the view behind it must be the new one
    view = runtime.app.view_functions["dyn.index"]
    assert "VERSION" in view.__code__.co_names and view.__module__ == module
    assert {e[2] for e in probe.of("job")} == {"2"}
    assert runtime.scheduler.jobs("dyn") == [("dyn", "tick")]


@pytest.mark.parametrize("failure", ["syntax_error", "import_raises", "setup_raises"])
async def test_failed_reload_keeps_old_version_live(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter, failure: str
) -> None:
    module = plugin_writer.write("dyn", version="1")
    runtime = await runtime_factory({"dyn": section(module)})
    member = emulator.create_member(guild, "alice")

    plugin_writer.write("dyn", version="2", module=module, **{failure: True})
    with pytest.raises(PluginLoadFailed):
        await runtime.host.reload("dyn")
    probe.EVENTS.clear()
    await eventually(lambda: len(probe.of("job")) >= 2, what="two runs of the job after the failed reload")

    assert runtime.host.records["dyn"].state == PluginState.ENABLED
    assert runtime.host.records["dyn"].version == "1"
    assert (await emulator.invoke(member, emulator.general(guild), "dyn")).content == "dyn v1"
    assert {e[2] for e in probe.of("job")} == {"1"}
    assert runtime.app.view_functions["dyn.index"].__module__ == module
    assert runtime.host.pm.get_plugin("dyn").VERSION == "1"


async def test_reload_with_changed_models_asks_for_migration_and_restart(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("modl", models_length=20)
    await make_migration("modl", f"{module}.models", plugin_writer.root / module / "migrations", "init")
    runtime = await runtime_factory({"modl": section(module)}, connect=False)

    plugin_writer.write("modl", version="2", models_length=40, module=module)
    with pytest.raises(MigrationRequired, match="omo db migrate modl"):
        await runtime.host.reload("modl")

    assert runtime.host.records["modl"].version == "1"


async def test_unload_cancels_exactly_that_plugins_tasks(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    one = plugin_writer.write("one")
    two = plugin_writer.write("two")
    runtime = await runtime_factory({"one": section(one), "two": section(two)}, connect=False)
    await eventually(lambda: {e[1] for e in probe.of("job")} == {"one", "two"}, what="both plugins' jobs running")

    await runtime.host.disable("one")
    teardowns = [e[1] for e in probe.of("teardown")]
    probe.EVENTS.clear()
    await eventually(lambda: len(probe.of("job")) >= 3, what="three more runs")

    assert teardowns == ["one"]
    assert runtime.scheduler.jobs("one") == []
    assert runtime.scheduler.jobs("two") == [("two", "tick")]
    assert {e[1] for e in probe.of("job")} == {"two"}
    assert runtime.host.records["one"].state == PluginState.DISABLED


async def test_failing_listener_and_job_do_not_stop_the_plugin(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("flaky", listener_raises=True, job_raises=True)
    runtime = await runtime_factory({"flaky": section(module)})
    member = emulator.create_member(guild, "alice")

    await emulator.send_message(member, emulator.general(guild), "first")
    await emulator.send_message(member, emulator.general(guild), "second")
    await eventually(lambda: len(probe.of("message")) == 2, what="both messages heard")
    await eventually(lambda: runtime.scheduler.failures.get(("flaky", "tick"), 0) >= 2, what="two failed runs")

    assert [e[3] for e in probe.of("message")] == ["first", "second"]
    assert len(probe.of("job")) >= 2
    assert runtime.scheduler.failures[("flaky", "tick")] >= 2
    assert (await emulator.invoke(member, emulator.general(guild), "flaky")).content == "flaky v1"


async def test_reload_under_a_stream_of_commands_loses_none(
    emulator: Emulator, guild: Any, runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("dyn", version="1")
    runtime = await runtime_factory({"dyn": section(module)})
    members = [emulator.create_member(guild, f"m{i}") for i in range(4)]
    channel = emulator.general(guild)
    answers: list[str | None] = []
    stop = asyncio.Event()

    async def stream(member: Any) -> None:
        while not stop.is_set():
            result = await emulator.invoke(member, channel, "dyn")
            answers.append(result.content)

    async def more_answers(count: int) -> None:
        seen = len(answers)
        await eventually(lambda: len(answers) >= seen + count, what=f"{count} more answers")

    workers = [asyncio.create_task(stream(m)) for m in members]
    for version in range(2, 8):
        await more_answers(3)
        plugin_writer.write("dyn", version=str(version), module=module)
        await runtime.host.reload("dyn")
    await more_answers(len(members))  # every worker got an answer from the last version
    stop.set()
    await asyncio.gather(*workers)

    assert len(answers) > 20
    assert all(a is not None and a.startswith("dyn v") for a in answers), answers
    assert answers[-1] == "dyn v7"


ANNOUNCER = """
import sys

from core.plugin import PluginContext, PluginInfo, hookimpl, hookspec


@hookspec
def demo_announced(value: int) -> None:
    \"\"\"Plugin-declared hook: something was announced.\"\"\"


@hookimpl
def omo_plugin_info():
    return PluginInfo(version="1", hookspecs=sys.modules[__name__])


@hookimpl
async def omo_setup(plugin: PluginContext) -> None:
    await plugin.call_hook("demo_announced", value=41)
"""

LISTENER = """
from core.plugin import PluginInfo, hookimpl
from tests.core import probe


@hookimpl
def omo_plugin_info():
    return PluginInfo(version="1")


@hookimpl
async def demo_announced(value: int) -> None:
    probe.record("announced", value + 1)
"""


async def test_plugins_talk_through_hooks_one_of_them_declares(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    for name, source in (("dyn_announcer", ANNOUNCER), ("dyn_listener", LISTENER)):
        (plugin_writer.root / name).mkdir()
        (plugin_writer.root / name / "__init__.py").write_text(source)

    runtime = await runtime_factory(
        {"listener": section("dyn_listener"), "announcer": section("dyn_announcer")},
        connect=False,
    )
    await runtime.host.reload("announcer")  # re-declaring the same specs on reload is fine

    assert probe.of("announced") == [("announced", 42), ("announced", 42)]
