"""The pieces of ``omo demo`` in-process: the demo world, its files, and the simulated members."""

from __future__ import annotations

import dataclasses
import random
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.demo import (
    Simulator,
    build_world,
    command_leaves,
    demo_database_url,
    demo_plugins_file,
    describe_database,
    omo_command,
    restore_world_state,
    save_world_state,
    setup_plugins,
    world_start,
)
from core.environment import Environment
from core.plugin_host import discover
from core.testing.emulator import Emulator
from core.testing.emulator import permissions as perms
from core.testing.pytest_plugin import eventually
from tests.sample_plugins import allhooks


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"echo": {"module": "tests.sample_plugins.echo"}}


def test_demo_world_has_channels_roles_members_and_an_admin_you() -> None:
    emu = Emulator()

    world = build_world(emu, members=12)

    channels = {c.name for c in world.guild.channels.values()}
    assert {"general", "announcements", "feeds", "Lounge"} <= channels
    assert world.roles["Admin"].permissions & perms.ADMINISTRATOR
    assert world.roles["Admin"].id in world.you.roles
    assert emu.user(world.you.user_id).username == "you"
    names = [emu.user(m.user_id).username for m in world.members]
    assert len(names) == 12 and len(set(names)) == 12
    assert all(world.roles["Member"].id in m.roles for m in world.members)


def test_demo_plugins_file_enables_every_in_tree_plugin_with_you_as_operator(tmp_path: Path) -> None:
    env = Environment(data_dir=tmp_path / "data", plugins_file=tmp_path / "plugins.toml")

    path = demo_plugins_file(env, operator_id=42)
    data = tomllib.loads(path.read_text())

    in_tree = {name for name, (_module, source) in discover().items() if source == "in-tree"}
    assert path == tmp_path / "data" / "demo-plugins.toml"
    assert data["bot"]["owners"] == [42]
    assert {n for n, section in data.get("plugins", {}).items() if section["enabled"]} == in_tree


def test_demo_uses_the_users_plugins_file_when_there_is_one(tmp_path: Path) -> None:
    mine = tmp_path / "plugins.toml"
    mine.write_text("# mine\n")
    env = Environment(data_dir=tmp_path / "data", plugins_file=mine)

    assert demo_plugins_file(env, operator_id=42) == mine
    assert mine.read_text() == "# mine\n"


def test_demo_database_is_separate_unless_database_url_is_set(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    env = Environment.from_environ({"OMO_DATA_DIR": str(tmp_path)})
    assert demo_database_url(env) == f"sqlite://{tmp_path / 'demo.sqlite3'}"

    chosen = "postgres://omo@db.example:5432/omo"
    monkeypatch.setenv("DATABASE_URL", chosen)
    assert demo_database_url(dataclasses.replace(env, database_url=chosen)) == chosen


def test_simulated_members_leave_admin_only_commands_alone() -> None:
    registered = [
        {"name": "help", "type": 1, "options": []},
        {
            "name": "plugins",
            "type": 1,
            "options": [{"name": sub, "type": 1, "options": []} for sub in ("list", "enable", "disable", "reload")],
        },
        {"name": "config", "type": 1, "default_member_permissions": "32", "options": []},
        {"name": "echo", "type": 1, "options": [{"name": "text", "type": 3, "required": True}]},
        {"name": "Inspect", "type": 2},
    ]

    assert [leaf.path for leaf in command_leaves(registered)] == ["help", "plugins list", "echo"]


async def test_simulated_members_chat_and_run_every_command_without_failing(emulator: Emulator, runtime: Any) -> None:
    world = build_world(emulator, members=3)
    await emulator.flush()

    def bot_sees_the_world() -> bool:
        seen = runtime.bot.get_guild(world.guild.id)
        return (
            seen is not None
            and all(seen.get_channel(c.id) is not None for c in world.text_channels)
            and all(seen.get_member(m.user_id) is not None for m in world.members)
        )

    await eventually(bot_sees_the_world, what="the bot seeing the demo guild, its channels and members")
    simulator = Simulator(emulator, world, random.Random(7))

    await simulator.act(0)
    for leaf in command_leaves(simulator.registered()):
        await simulator.invoke(world.members[0], leaf)

    general = world.text_channels[0]
    said = [m for m in emulator.messages(general) if m["content"].endswith("hi everyone! :wave:")]
    echoed = [m for m in emulator.sent_messages(general) if m["content"].startswith(">")]
    assert simulator.messages == 1 and len(said) == 1
    assert simulator.commands >= 3  # help, plugins list, echo
    assert echoed, "the echo plugin answered a simulated /echo"


def test_demo_banner_never_shows_database_credentials() -> None:
    assert describe_database("postgres://omo:s3cret@db.example:6543/omo") == "postgres (db.example:6543/omo)"
    assert describe_database("sqlite:///srv/omo/demo.sqlite3") == "sqlite (/srv/omo/demo.sqlite3)"


@pytest.mark.parametrize(
    "omo_plugins",
    [
        {
            "demofail": {"module": "tests.sample_plugins.demofail"},
            "allhooks": {"module": "tests.sample_plugins.allhooks"},
        }
    ],
)
async def test_a_failing_demo_setup_is_reported_and_the_other_plugins_are_set_up(
    emulator: Emulator, runtime: Any
) -> None:
    world = build_world(emulator, members=2)

    failed = await setup_plugins(runtime, world)

    assert failed == ["demofail"]
    assert ("omo_demo_setup", world.guild.id) in allhooks.CALLS
    assert world.emulator is emulator


def test_reload_hint_names_the_omo_beside_this_python(monkeypatch: Any, tmp_path: Path) -> None:
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "omo").write_text("#!/bin/sh\n")
    monkeypatch.setattr("sys.executable", str(bin_dir / "python"))
    monkeypatch.chdir(tmp_path)

    assert omo_command() == ".venv/bin/omo"


@pytest.mark.browser
async def test_demo_login_preselects_you_and_lands_on_the_demo_server(
    emulator: Emulator, runtime: Any, browser: Any
) -> None:
    world = build_world(emulator, members=2)
    await eventually(lambda: runtime.bot.get_guild(world.guild.id) is not None, what="the bot in the demo guild")
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    try:
        await page.goto(f"{runtime.web_url}/auth/login")
        await page.get_by_role("button", name="Authorize").wait_for()
        checked = await page.locator("input[name=user_id]:checked").get_attribute("value")
        you = page.locator("label.who", has=page.locator(f"input[value='{world.you.user_id}']"))
        described = await you.inner_text()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

        await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_url(f"{runtime.web_url}/**")
        landed = await page.locator("main").inner_text()
    finally:
        await context.close()

    assert checked == str(world.you.user_id)
    assert "Administrator in omo demo" in described and "operator" in described
    assert overflow <= 0
    assert "none of your servers" not in landed and "omo demo" in landed


def test_the_demo_world_keeps_its_ids_across_runs(tmp_path: Path) -> None:
    first_emu = Emulator(snowflake_start_ms=world_start(tmp_path))
    first = build_world(first_emu, members=3)
    second_emu = Emulator(snowflake_start_ms=world_start(tmp_path))
    second = build_world(second_emu, members=5)
    second_emu.world.snowflakes.thaw()
    later = second_emu.create_user("newcomer")

    assert first_emu.application_id == second_emu.application_id
    assert (first.guild.id, first.you.user_id) == (second.guild.id, second.you.user_id)
    assert [c.id for c in first.text_channels] == [c.id for c in second.text_channels]
    assert {n: r.id for n, r in first.roles.items()} == {n: r.id for n, r in second.roles.items()}
    assert later.id > max(m.user_id for m in second.members)


async def test_a_dashboard_login_token_survives_a_demo_restart(tmp_path: Path) -> None:
    redirect = "http://127.0.0.1:8787/auth/callback"
    async with Emulator(snowflake_start_ms=world_start(tmp_path)) as first_emu:
        you = build_world(first_emu, members=1).you
        code = first_emu.approve_oauth(you, first_emu.application_id, redirect, "identify guilds").split("code=")[1]
        async with aiohttp.ClientSession() as http:
            form = {
                "client_id": str(first_emu.application_id),
                "client_secret": first_emu.client_secret,
                "grant_type": "authorization_code",
                "code": code.split("&")[0],
                "redirect_uri": redirect,
            }
            async with http.post(f"{first_emu.api_url}/oauth2/token", data=form) as resp:
                token = (await resp.json())["access_token"]
        save_world_state(tmp_path, first_emu)

    async with Emulator(snowflake_start_ms=world_start(tmp_path)) as second_emu:
        build_world(second_emu, members=1)
        restored = restore_world_state(tmp_path, second_emu)
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{second_emu.api_url}/users/@me", headers=headers) as resp:
                me = (resp.status, (await resp.json()).get("id"))

    assert restored >= 1
    assert me == (200, str(you.user_id))
    assert oct((tmp_path / "world.json").stat().st_mode & 0o777) == "0o600"
