"""The plugins.toml watcher survives every error, reports unknown plugins, and reports a bad file once."""

from __future__ import annotations

from typing import Any

import structlog

from core.plugin_host import PluginState
from core.plugins_file import set_plugin_enabled
from core.testing.pytest_plugin import eventually
from tests.core.conftest import PluginWriter, section


async def test_an_unknown_plugin_is_reported_and_later_changes_still_apply(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    one = plugin_writer.write("one")
    runtime = await runtime_factory({"one": section(one)}, connect=False, watch_interval=0.05)
    path = runtime.plugins_file_path
    good = path.read_text()

    with structlog.testing.capture_logs() as logs:
        await _unknown_then_fixed(runtime, path, good)

    assert [e["plugins"] for e in logs if e["event"] == "plugins.toml names unknown plugins"] == [["nosuch"]]


async def _unknown_then_fixed(runtime: Any, path: Any, good: str) -> None:
    path.write_text(good + "\n[plugins.nosuch]\nenabled = true\n")
    await eventually(lambda: "nosuch" in runtime.host.records, what="the unknown plugin reported")
    record = runtime.host.records["nosuch"]
    assert record.state == PluginState.FAILED and "unknown plugin 'nosuch'" in (record.error or "")
    assert runtime.host.loaded("one") is not None  # the rest of the file still applies

    path.write_text(good)
    await eventually(lambda: "nosuch" not in runtime.host.records, what="the unknown plugin forgotten")
    set_plugin_enabled(path, "one", False)
    await eventually(lambda: runtime.host.loaded("one") is None, what="a later change applied")

    path.write_text("[plugins\n")
    await eventually(lambda: runtime.plugins_file_error is not None, what="a syntax error reported")


async def test_a_bad_file_is_reported_once_per_change_not_on_every_poll(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    one = plugin_writer.write("one")
    runtime = await runtime_factory({"one": section(one)}, connect=False, watch_interval=0.02)
    watcher = runtime.plugins_file_watcher

    with structlog.testing.capture_logs() as logs:
        runtime.plugins_file_path.write_text("[plugins.one]\nenabled = 'sure'\n")
        await eventually(lambda: runtime.plugins_file_error is not None, what="the bad file rejected")
        polls = watcher.polls
        await eventually(lambda: watcher.polls >= polls + 10, what="ten more looks at the unchanged bad file")

    assert [e["event"] for e in logs].count("plugins.toml rejected, keeping the last good one") == 1
    assert runtime.host.loaded("one") is not None  # the last good file stays in force


async def test_the_watcher_survives_an_error_while_applying(tmp_path: Any) -> None:
    from core.plugins_file import PluginsFileWatcher

    path = tmp_path / "plugins.toml"
    path.write_text("")
    applied: list[str] = []

    async def apply() -> None:
        applied.append(path.read_text())
        if len(applied) == 1:
            raise RuntimeError("boom")

    watcher = PluginsFileWatcher(path, 0.01, apply)
    path.write_text("# first change\n")
    await watcher.poll()
    path.write_text("# second change, longer\n")
    await watcher.poll()
    await watcher.poll()

    assert applied == ["# first change\n", "# second change, longer\n"]
