"""``omo`` against running processes: reload through the control socket of ``omo run``, and ``omo demo``."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from typing import Any

import aiohttp
import httpx

from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually
from tests.cli.conftest import ECHO_TOML, Omo, free_port


async def _demo_until_banner(omo: Omo, *args: str) -> tuple[asyncio.subprocess.Process, str, str]:
    """Start ``omo demo ARGS --quiet`` and read its banner: (process, emulator URL, banner text). The caller
    stops the process (see :func:`_stop`)."""
    proc = await omo.start("demo", *args, "--quiet")
    assert proc.stdout is not None
    seen = ""
    try:
        while "Ctrl-C to stop." not in seen:
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert raw, "omo demo ended before its banner:\n" + seen
            seen += raw.decode()
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    emulator_url = re.search(r"emulator\s+(http://127\.0\.0\.1:\d+)/", seen)
    assert emulator_url, seen
    return proc, emulator_url[1], seen


async def test_plugins_reload_reaches_a_running_omo_which_stops_cleanly_on_sigterm(
    omo: Omo, emulator: Emulator, guild: Any
) -> None:
    omo.write_plugins(ECHO_TOML)
    proc = await omo.start(
        "run", "--discord-api", emulator.base_url, "--port", "0", "--migrate", DISCORD_TOKEN=emulator.bot_token
    )
    try:
        await eventually(
            lambda: (omo.data_dir / "control.sock").is_socket() or proc.returncode is not None,
            timeout=20,
            interval=0.1,
            what="the control socket",
        )
        assert proc.returncode is None, "omo run exited early"
        await eventually(
            lambda: any(c["name"] == "echo" for c in emulator.registered_commands()),
            timeout=20,
            interval=0.1,
            what="the bot to register /echo",
        )

        reloaded = await omo("plugins", "reload", "echo")
        answer = await emulator.invoke(
            emulator.create_member(guild, "alice"), emulator.general(guild), "echo", text="still here"
        )

        assert reloaded.code == 0, reloaded.err
        assert reloaded.out.startswith("reloaded echo 1.0 → 1.0 in ")
        assert answer.content == ">still here"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, err.decode()[-2000:]


async def test_demo_runs_offline_with_simulated_members_and_stops_by_itself(omo: Omo) -> None:
    port = free_port()
    proc = await omo.start("demo", "--port", str(port), "--members", "3", "--seconds", "3")
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not any(line.startswith("Stops by itself") for line in lines):
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert raw, "omo demo ended before its banner:\n" + "".join(lines)
            lines.append(raw.decode())
        banner = "".join(lines)
        emulator_url = re.search(r"emulator\s+(http://127\.0\.0\.1:\d+)/", banner)
        assert emulator_url, banner
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
            state = await (await http.get(f"{emulator_url[1]}/_emulator/snapshot")).json()
            guild = next(g for g in state["guilds"] if g["name"] == "omo demo")
            general = next(c for c in guild["channels"] if c["name"] == "general")

            async def chatter() -> list[dict[str, Any]]:
                async with http.get(f"{emulator_url[1]}/_emulator/channels/{general['id']}/messages") as resp:
                    body = await resp.json()
                return [m for m in body if not m["author"].get("bot")]

            messages = await eventually(chatter, timeout=6, interval=0.1, what="a simulated member's message")
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = banner + out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "starting emulator…" in text and "bot connected to 1 guild" in text
    assert f"dashboard  http://127.0.0.1:{port}/" in text
    assert messages and messages[0]["content"].endswith("hi everyone! :wave:")
    assert re.search(r"stopped: simulated members sent [1-9]\d* messages?", text)


async def test_demo_on_a_taken_port_names_the_port_and_the_option(omo: Omo) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = await omo("demo", "--port", str(port), "--seconds", "1")

    assert result.code == 1
    assert f"omo: error: port {port} is already in use" in result.err
    assert "--port" in result.err
    assert "Traceback" not in result.err


async def test_demo_run_again_registers_commands_and_stops_cleanly_on_ctrl_c(omo: Omo) -> None:
    first = await omo("demo", "--port", str(free_port()), "--members", "2", "--quiet", "--seconds", "0")
    assert first.code == 0, first.err[-2000:]

    proc, emulator_url, seen = await _demo_until_banner(omo, "--port", str(free_port()), "--members", "2")
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{emulator_url}/_emulator/snapshot") as resp:
            commands = {c["name"] for c in (await resp.json())["commands"]}
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    assert "help" in commands  # the second run's fresh emulator got the commands despite the remembered sync
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "2, quiet (no simulated chatter)" in seen
    assert out.decode().splitlines()[-2:] == ["stopping…", "stopped"]
    assert "Traceback" not in err.decode()


async def test_demo_rereads_plugins_toml_on_sighup_and_leaves_no_control_socket(omo: Omo) -> None:
    omo.write_plugins(ECHO_TOML)
    proc, _url, _banner = await _demo_until_banner(omo, "--port", str(free_port()), "--members", "0")
    assert proc.stdout is not None
    socket_path = omo.data_dir / "demo" / "control.sock"
    try:
        assert socket_path.is_socket()

        proc.send_signal(signal.SIGHUP)
        raw = b"\n"
        while raw == b"\n":  # the banner's last, empty line
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert raw.decode() == f"SIGHUP: {omo.plugins_file} re-read and applied\n"
        assert proc.returncode is None

        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    assert proc.returncode == 0, err.decode()[-2000:]
    assert out.decode().splitlines()[-1] == "stopped"
    assert not socket_path.exists()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 15)


async def _guild_ids(http: httpx.AsyncClient, emulator_url: str) -> list[str]:
    feed = (await http.get(f"{emulator_url}/_live/feed")).json()
    return [g["id"] for g in feed["guilds"]]


async def test_the_demo_keeps_its_server_and_your_login_across_runs(omo: Omo) -> None:
    port = free_port()
    proc, emulator_url, _banner = await _demo_until_banner(omo, "--port", str(port), "--members", "0")
    dashboard = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            first_ids = await _guild_ids(http, emulator_url)
            authorize = (await dashboard.get("/auth/login")).headers["location"]
            page = (await http.get(authorize)).text
            form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
            form["user_id"] = re.findall(r'value="(\d+)" checked', page)[0]  # the pre-selected demo admin
            approved = await http.post(f"{emulator_url}/oauth2/authorize", data={**form, "action": "approve"})
            callback = approved.headers["location"].split(f":{port}", 1)[1]
            assert (await dashboard.get(callback)).status_code in (302, 303)
            before = await dashboard.get("/guilds")
        await _stop(proc)

        proc, emulator_url, _banner = await _demo_until_banner(omo, "--port", str(port), "--members", "0")
        async with httpx.AsyncClient(timeout=10) as http:
            second_ids = await _guild_ids(http, emulator_url)
        after = await dashboard.get("/guilds")  # the same cookie, a new process and a new emulator
    finally:
        await dashboard.aclose()
        await _stop(proc)

    assert first_ids == second_ids
    assert before.status_code == after.status_code == 200
    assert "omo demo" in before.text and "omo demo" in after.text
