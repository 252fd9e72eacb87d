"""The ``omo`` command line as a user meets it: help, run without a token, check, db, plugins."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from tests.cli.conftest import ECHO_TOML, FAKE_TOKEN, Omo

SUBCOMMANDS = [
    ["run"],
    ["demo"],
    ["emulator"],
    ["check"],
    ["db"],
    ["db", "upgrade"],
    ["db", "migrate"],
    ["plugins"],
    ["plugins", "list"],
    ["plugins", "enable"],
    ["plugins", "disable"],
    ["plugins", "reload"],
    ["new-plugin"],
]


async def test_help_lists_every_command(omo: Omo) -> None:
    result = await omo("--help")

    assert result.code == 0
    for command in ("run", "demo", "emulator", "check", "db", "plugins", "new-plugin"):
        assert re.search(rf"^\s+{command}\s", result.out, re.MULTILINE), command


async def test_every_subcommand_has_help(omo: Omo) -> None:
    results = await asyncio.gather(*(omo(*command, "--help") for command in SUBCOMMANDS))

    for command, result in zip(SUBCOMMANDS, results, strict=True):
        assert result.code == 0, command
        assert result.out.startswith(f"usage: omo {' '.join(command)}"), command


async def test_run_without_token_exits_2_and_points_at_demo(omo: Omo) -> None:
    result = await omo("run")

    assert result.code == 2
    assert "DISCORD_TOKEN" in result.err
    assert "omo demo" in result.err
    assert "Traceback" not in result.err


async def test_check_on_a_good_setup_prints_what_would_run(omo: Omo) -> None:
    omo.write_plugins(ECHO_TOML)
    assert (await omo("db", "upgrade")).code == 0

    result = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)

    assert result.code == 0, result.out + result.err
    assert f"✓ {omo.plugins_file}: valid" in result.out
    assert "✓ plugin echo 1.0 would run" in result.out
    assert "✓ token: looks like a bot token" in result.out
    assert "reachable and migrated" in result.out
    assert "would serve the dashboard on http://127.0.0.1:8787 and run: echo" in result.out
    assert "✗" not in result.out


async def test_check_without_token_or_migrations_says_what_is_wrong(omo: Omo) -> None:
    omo.write_plugins(ECHO_TOML)

    result = await omo("check")

    assert result.code == 1
    assert "✗ token: no DISCORD_TOKEN set" in result.out
    assert "run `omo db upgrade`" in result.out


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("[bot]\nprefix = '!'\n[plugins.echo\nenabled = true\n", 3, "invalid TOML"),
        ("[bot]\nprefix = '!'\ncolour = 'red'\n", 3, "unknown key 'bot.colour'"),
        ("[web]\nhost = '127.0.0.1'\nport = 'eighty'\n", 3, "web.port"),
        ("[plugins.echo]\nenabled = 'yes'\n", 2, "plugins.echo.enabled"),
        ("# my plugins\n[plugins.Bad-Name]\nenabled = true\n", 2, "plugin name 'Bad-Name'"),
    ],
    ids=["toml-syntax", "unknown-key", "wrong-type", "wrong-type-bool", "bad-plugin-name"],
)
async def test_check_rejects_a_bad_plugins_toml_naming_file_line_and_reason(
    omo: Omo, text: str, line: int, reason: str
) -> None:
    omo.write_plugins(text)

    result = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)

    assert result.code == 2
    assert f"✗ {omo.plugins_file}:{line}: " in result.out
    assert reason in result.out
    assert "Traceback" not in result.err


async def test_check_reports_an_unknown_enabled_plugin_as_failed(omo: Omo) -> None:
    omo.write_plugins(ECHO_TOML + "[plugins.nosuch]\nenabled = true\n")

    result = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)

    assert result.code == 1
    assert "✗ plugin nosuch: unknown plugin 'nosuch'" in result.out
    assert "✓ plugin echo 1.0 would run" in result.out


async def test_db_upgrade_shows_progress_and_is_idempotent(omo: Omo) -> None:
    first = await omo("db", "upgrade")
    second = await omo("db", "upgrade")

    assert first.code == 0, first.err
    assert re.search(r"^\[1/\d+\] core: \d+_\w+\.py", first.out, re.MULTILINE)
    assert re.search(r"^done: [1-9]\d* migrations? applied$", first.out, re.MULTILINE)
    assert second.code == 0
    assert re.search(r"^\[1/\d+\] core: up to date$", second.out, re.MULTILINE)
    assert "done: 0 migrations applied" in second.out


async def test_db_upgrade_against_unreachable_postgres_fails_with_one_clear_line(omo: Omo) -> None:
    result = await omo("db", "upgrade", DATABASE_URL="postgres://nobody@127.0.0.1:1/x")

    assert result.code != 0
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("omo: error:")]
    assert len(errors) == 1
    assert "127.0.0.1" in errors[0] or "unreachable" in errors[0]


async def test_plugins_list_shows_discovered_plugins(omo: Omo) -> None:
    omo.write_plugins(ECHO_TOML)

    result = await omo("plugins", "list")

    assert result.code == 0
    rows = {line.split()[0]: line for line in result.out.splitlines()[1:] if line.strip()}
    assert re.match(r"echo\s+1\.0\s+yes\s+plugins\.toml\s+ok", rows["echo"])
    assert "config" in rows


async def test_plugins_enable_and_disable_edit_the_file_keeping_comments(omo: Omo) -> None:
    omo.write_plugins(
        "# operator's notes: keep me\n[plugins.echo]  # the sample\n"
        'module = "tests.sample_plugins.echo"\nenabled = false\n'
    )

    enabled = await omo("plugins", "enable", "echo")
    after_enable = omo.plugins_file.read_text()
    disabled = await omo("plugins", "disable", "echo")
    after_disable = omo.plugins_file.read_text()

    assert enabled.code == 0 and disabled.code == 0
    assert "enabled = true" in after_enable
    assert "enabled = false" in after_disable
    for text in (after_enable, after_disable):
        assert "# operator's notes: keep me" in text
        assert "# the sample" in text


async def test_plugins_enable_refuses_an_unknown_plugin_and_leaves_the_file(omo: Omo) -> None:
    original = "# mine\n" + ECHO_TOML
    omo.write_plugins(original)

    result = await omo("plugins", "enable", "nosuch")

    assert result.code == 2
    assert "unknown plugin 'nosuch'" in result.err
    assert omo.plugins_file.read_text() == original


async def test_plugins_reload_without_a_running_process_exits_1(omo: Omo) -> None:
    result = await omo("plugins", "reload", "echo")

    assert result.code == 1
    assert "no running omo process" in result.err
    assert "Traceback" not in result.err


async def test_check_reports_a_settings_mistake_in_one_line_without_a_traceback(omo: Omo) -> None:
    omo.write_plugins(ECHO_TOML + "settings = { repeat = 2, prefix = 'much too long' }\n")

    result = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)

    assert result.code == 1
    problem = f"✗ plugin echo: {omo.plugins_file}:4: [plugins.echo.settings] prefix: String should have at most 5"
    assert problem in result.out
    logged = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    failed = [line for line in logged if line["event"] == "plugin failed"]
    assert len(failed) == 1 and "exception" not in failed[0]  # the reason, not a traceback
    assert "Traceback" not in result.err and "frames" not in result.err


async def test_check_says_an_empty_plugins_toml_turns_every_plugin_off(omo: Omo) -> None:
    omo.write_plugins("# nothing yet\n")

    result = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)

    assert f"✓ {omo.plugins_file}: valid" in result.out
    assert "! no plugin is enabled in plugins.toml, so every plugin is off" in result.out


async def test_check_and_plugins_enable_suggest_the_name_meant(omo: Omo) -> None:
    omo.write_plugins("[bot]\nguild_defualt = true\n")
    key = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)
    omo.write_plugins("[plugins.echo]\nmodule = 'tests.sample_plugins.echo'\nguild_defualt = false\n")
    plugin_key = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)
    omo.write_plugins("[plugins.confg]\nenabled = true\n")
    plugin = await omo("check", DISCORD_TOKEN=FAKE_TOKEN)
    enable = await omo("plugins", "enable", "confg")

    assert "unknown key 'bot.guild_defualt'" in key.out and "did you mean" not in key.out  # nothing close in [bot]
    assert "unknown key 'plugins.echo.guild_defualt'; did you mean 'guild_default'?" in plugin_key.out
    assert "✗ plugin confg: unknown plugin 'confg'; did you mean 'config'?" in plugin.out
    assert "unknown plugin 'confg'; did you mean 'config'?" in enable.err
