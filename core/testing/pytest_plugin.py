"""pytest fixtures for omo-bot and plugin authors: a running Discord emulator and clients connected to it.

Registered as a ``pytest11`` entry point, or load it with ``-p core.testing.pytest_plugin``.
Fixtures are async (pytest-asyncio) and function-scoped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

import discord
import pytest
import pytest_asyncio
import structlog
from discord.ext import commands

from core.testing.emulator import Emulator, Guild, Member, Role, point_discord_py_at, restore_discord_py

log = structlog.get_logger(__name__)

ClientT = TypeVar("ClientT", bound=discord.Client)

#: Heartbeat interval the test emulator announces: short, so heartbeats are exercised in every test.
TEST_HEARTBEAT_MS = 1000


# -- emulator ------------------------------------------------------------------------------------------


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Keyword arguments for ``Emulator(...)``; override this fixture to change them for a module or test."""
    return {"heartbeat_interval_ms": TEST_HEARTBEAT_MS}


@pytest_asyncio.fixture
async def emulator(emulator_options: dict[str, Any]) -> AsyncIterator[Emulator]:
    """A started Discord emulator on a free port; discord.py is pointed at it for the test."""
    emu = Emulator(**emulator_options)
    await emu.start()
    point_discord_py_at(emu.base_url)
    try:
        yield emu
    finally:
        await emu.stop()
        restore_discord_py()


@pytest.fixture
def guild(emulator: Emulator) -> Guild:
    """A guild in the emulator with #general, @everyone and the bot (with its managed role) as a member."""
    return emulator.create_guild("Test Guild")


MemberFactory = Callable[..., Member]


@pytest.fixture
def member_factory(emulator: Emulator, guild: Guild) -> MemberFactory:
    """Make members: ``member_factory("alice", roles=[role], nick=None, guild=other_guild)``."""

    def make(
        username: str | None = None,
        *,
        roles: Iterable[Role | int] = (),
        nick: str | None = None,
        guild: Guild | None = None,
    ) -> Member:
        return emulator.create_member(
            guild if guild is not None else _default_guild, username, roles=roles, nick=nick
        )

    _default_guild = guild
    return make


# -- discord.py clients --------------------------------------------------------------------------------


def default_test_intents() -> discord.Intents:
    """Default intents plus the privileged ones (the emulator grants them all)."""
    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    return intents


class DiscordClientFactory:
    """Starts discord.py clients against the emulator and closes them at teardown."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def __call__(
        self,
        client: type[ClientT] | ClientT = discord.Client,  # type: ignore[assignment]
        *,
        intents: discord.Intents | None = None,
        wait_ready: bool = True,
        timeout: float = 10.0,  # noqa: ASYNC109
        **kwargs: Any,
    ) -> ClientT:
        """Start ``client`` (a class to instantiate, or an instance) logged in with the emulator's token.

        Class instances get ``intents`` (default: ``default_test_intents()``) and a short
        ``guild_ready_timeout``; extra keyword arguments go to the constructor. Waits for
        ``on_ready`` unless ``wait_ready`` is false.
        """
        point_discord_py_at(self.emulator.base_url)
        if isinstance(client, discord.Client):
            instance = client
        else:
            kwargs.setdefault("guild_ready_timeout", 0.05)
            if issubclass(client, commands.bot.BotBase):
                kwargs.setdefault("command_prefix", "!")
            instance = client(intents=intents or default_test_intents(), **kwargs)
        await instance.login(self.emulator.bot_token)
        task = asyncio.get_running_loop().create_task(instance.connect(reconnect=True))
        self._running.append((instance, task))
        if wait_ready:
            ready = asyncio.ensure_future(instance.wait_until_ready())
            done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                if task in done:
                    task.result()
                raise TimeoutError(f"discord.py client was not ready within {timeout}s")
        return instance

    async def close_all(self) -> None:
        """Close every started client."""
        for client, task in reversed(self._running):
            with contextlib.suppress(Exception):
                await client.close()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, timeout=5.0)
        self._running.clear()


@pytest_asyncio.fixture
async def discord_client_factory(emulator: Emulator) -> AsyncIterator[DiscordClientFactory]:
    """``await discord_client_factory(Client | commands.Bot | AutoShardedClient | instance, **kw)``."""
    factory = DiscordClientFactory(emulator)
    try:
        yield factory
    finally:
        await factory.close_all()
