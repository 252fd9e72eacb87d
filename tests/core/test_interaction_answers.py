"""App command answers survive a refused interaction callback and slow commands (Discord's 3-second window)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import structlog
from discord import app_commands

from core.logging import configure_logging
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually

CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
ECHO = {"echo": {"module": "tests.sample_plugins.echo"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return ECHO


# (three 429s of one second each are delivered only when the command answers at once: how fast it answers is
# not something to assert on; the window running out is covered by the "lost" test below)
@pytest.mark.parametrize(("status", "count"), [(500, 2), (503, 2), (502, 3)], ids=["500x2", "503x2", "502x3"])
async def test_an_answer_whose_callback_is_refused_arrives_as_a_follow_up(
    status: int, count: int, emulator: Emulator, runtime: Any, guild: Any
) -> None:
    alice = emulator.create_member(guild, "alice")
    fault = emulator.fail_next(CALLBACK, status=status, count=count, retry_after=1)

    answer = await emulator.invoke(alice, emulator.general(guild), "echo", text="hi")

    assert fault.hits == count
    assert answer.deferred and answer.content == ">hi" and not answer.ephemeral
    assert [a["content"] for a in emulator.bot_actions("interaction.followup")] == [">hi"]


async def test_an_ephemeral_answer_stays_ephemeral_through_the_follow_up(
    emulator: Emulator, runtime: Any, guild: Any
) -> None:
    alice = emulator.create_member(guild, "alice")
    await runtime.gate.set_enabled(guild.id, "echo", False)  # the refusal is an ephemeral answer
    emulator.fail_next(CALLBACK, status=502, count=1)

    answer = await emulator.invoke(alice, emulator.general(guild), "echo", text="hi")

    assert answer.deferred and answer.ephemeral and "disabled in this server" in (answer.content or "")


@pytest.fixture
async def slow_command(runtime: Any) -> AsyncIterator[None]:
    """Global app commands that answer only after Discord's 3-second window (one says its answers are public)."""

    @app_commands.command(name="slow", description="answers late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.5)
        await interaction.response.send_message("late but here")

    @app_commands.command(name="slowpublic", description="answers late, for all", extras={"omo_answer": "public"})
    async def slow_public(interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.5)
        await interaction.response.send_message("late, for everyone")

    runtime.bot.tree.add_command(slow)
    runtime.bot.tree.add_command(slow_public)
    await runtime.bot.tree.sync()
    yield
    runtime.bot.tree.remove_command("slow")
    runtime.bot.tree.remove_command("slowpublic")


async def test_a_slow_command_is_acknowledged_in_time_and_its_answer_follows(
    emulator: Emulator, runtime: Any, guild: Any, slow_command: None
) -> None:
    alice = emulator.create_member(guild, "alice")

    answer, public = await asyncio.gather(
        emulator.invoke(alice, emulator.general(guild), "slow", timeout=15),
        emulator.invoke(alice, emulator.general(guild), "slowpublic", timeout=15),
    )

    assert answer.deferred and answer.content == "late but here"
    assert answer.ephemeral  # acknowledged for the command, not knowing its wish: only the member sees it
    assert public.deferred and public.content == "late, for everyone" and not public.ephemeral


async def test_an_answer_refused_for_the_whole_window_is_logged_as_lost(
    emulator: Emulator, runtime: Any, guild: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = emulator.create_member(guild, "alice")
    configure_logging("console", "INFO")
    text = ""

    def logged() -> str:
        nonlocal text
        text += capsys.readouterr().err
        return text

    try:
        fault = emulator.fail_next(CALLBACK, status=429, count=6, retry_after=1)
        interaction = asyncio.ensure_future(emulator.invoke(alice, emulator.general(guild), "echo", text="hi"))
        await eventually(lambda: "interaction answer lost" in logged(), timeout=15, what="the lost answer logged")
        with pytest.raises(Exception, match="answer the interaction"):
            await interaction
    finally:
        structlog.contextvars.clear_contextvars()
        with capsys.disabled():
            configure_logging("console", "INFO")

    assert fault.hits >= 4  # the answer, then acknowledgements until the window closed
    assert "Task exception was never retrieved" not in text and "TypeError" not in text
