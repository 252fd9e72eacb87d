"""Discord refusing the bot's requests: the errors are logged once, readable, and never with the bot token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import structlog
from discord.ext import commands

from core.logging import LogFormat, configure_logging
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually

MARKER = "frame-local-marker-e2e"


class Captured:
    """The log output (stderr) so far."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def __call__(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
async def runtime_logging(runtime_factory: Any, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Any]:
    """A runtime with the echo plugin (its message-content intent enables prefix commands) and the log captured;
    logging is set back before the runtime stops."""
    runtime = await runtime_factory({"echo": {"module": "tests.sample_plugins.echo"}})
    await runtime.bot.add_cog(Leaky(runtime.bot))
    yield runtime, Captured(capsys)
    structlog.contextvars.clear_contextvars()
    with capsys.disabled():  # log to the real stderr again, not to the capture that closes with the test
        configure_logging("console", "INFO")


class Leaky(commands.Cog):
    """A prefix command and a listener that hold the bot token in local variables when they fail."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @commands.command(name="leak")
    async def leak(self, ctx: commands.Context[Any]) -> None:
        token = self.bot.http.token
        marker = MARKER
        await ctx.send(f"sending with {len(token or '')}-character token ({marker})")

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        token = self.bot.http.token
        marker = MARKER
        if message.content == "boom":
            raise RuntimeError(f"listener failed holding {token} ({len(marker)})")


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize("status", [403, 503])
async def test_discord_errors_are_logged_without_the_token(
    fmt: LogFormat,
    status: int,
    emulator: Emulator,
    runtime_logging: Any,
    guild: Any,
) -> None:
    runtime, out = runtime_logging
    alice = emulator.create_member(guild, "alice")
    channel = emulator.general(guild)
    configure_logging(fmt, "INFO")
    # the command's message and then its error reply are refused (discord.py does not retry a 403 or a 503)
    fault = emulator.fail_next("POST /channels/{channel_id}/messages", status=status, count=2)

    await emulator.send_message(alice, channel, "!leak")
    await eventually(lambda: "could not report command error" in out(), what="the failed reply logged")
    await emulator.send_message(alice, channel, "boom")
    await eventually(lambda: "event handler failed" in out(), what="the failed listener logged")

    text = out()
    assert fault.hits == 2
    assert "prefix command failed" in text
    assert ("Forbidden" if status == 403 else "DiscordServerError") in text
    assert "Task exception was never retrieved" not in text and "TypeError" not in text
    assert runtime.env.discord_token not in text
    assert MARKER not in text  # tracebacks carry no local variables
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        failed = next(line for line in lines if line["event"] == "event handler failed")
        assert failed["discord_event"] == "on_message" and failed["exception"][0]["exc_type"] == "RuntimeError"
