"""pytest fixtures for omo-bot and plugin authors: a running Discord emulator and clients connected to it.

Registered as a ``pytest11`` entry point, or load it with ``-p core.testing.pytest_plugin``.
Fixtures are async (pytest-asyncio) and function-scoped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, NoReturn, TypeVar, cast

import discord
import pytest
import pytest_asyncio
import structlog
from discord.ext import commands

from core.clock import Clock, ManualClock
from core.testing.emulator import Emulator, Guild, Member, Role, point_discord_py_at, restore_discord_py

log = structlog.get_logger(__name__)

ClientT = TypeVar("ClientT", bound=discord.Client)
T = TypeVar("T")

#: Heartbeat interval the test emulator announces: short, so heartbeats are exercised in every test.
TEST_HEARTBEAT_MS = 1000


# -- polling -------------------------------------------------------------------------------------------


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns something truthy; return it. ``check`` is a plain
    function, or one returning an awaitable (``lambda: Model.exists(...)``), which is awaited.

    For what arrives asynchronously (gateway events, other processes):
    ``await eventually(lambda: runtime.bot.get_guild(g.id) is not None, what="the bot seeing the guild")``.
    Raises ``AssertionError("<what> not reached within <timeout>s")`` when ``timeout`` passes first.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = check()
        value = cast(T, await answer) if inspect.isawaitable(answer) else answer
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(interval)


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
        return emulator.create_member(guild if guild is not None else _default_guild, username, roles=roles, nick=nick)

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


# -- omo runtime ---------------------------------------------------------------------------------------

#: Set to a PostgreSQL URL (``postgres://user@host:5432/postgres``) to run database tests on PostgreSQL:
#: each test gets a database of its own, dropped afterwards.
TEST_DATABASE_ENV = "OMO_TEST_DATABASE_URL"


@pytest_asyncio.fixture
async def database_url(tmp_path: Any) -> AsyncIterator[str]:
    """A fresh, empty database for one test: SQLite in ``tmp_path``, or PostgreSQL when
    ``OMO_TEST_DATABASE_URL`` is set (a database created for the test and dropped after)."""
    from core.testing.scratch_database import scratch_postgres_database

    admin_url = os.environ.get(TEST_DATABASE_ENV)
    if not admin_url:
        yield f"sqlite://{tmp_path / 'omo-test.sqlite3'}"
        return
    async with scratch_postgres_database(admin_url, "omo_test") as url:
        yield url


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    """The ``[plugins.NAME]`` tables the ``runtime`` fixture writes to plugins.toml; override per module.

    Example: ``{"mileage": {}, "echo": {"module": "tests.sample_plugins.echo", "settings": {"repeat": 2}}}``.
    """
    return {}


@pytest.fixture
def omo_owners() -> list[int]:
    """Operator user ids for the ``runtime`` fixture (plugins.toml ``[bot] owners``)."""
    return []


def write_plugins_toml(path: Any, plugins: dict[str, dict[str, Any]], owners: Iterable[int] = ()) -> None:
    """Write a plugins.toml enabling ``plugins`` (a dict of tables) with ``owners`` as operators."""
    import tomlkit

    doc = tomlkit.document()
    bot = tomlkit.table()
    bot["owners"] = list(owners)
    doc["bot"] = bot
    table = tomlkit.table(is_super_table=True)
    for name, section in plugins.items():
        entry = {"enabled": True, **section}
        table[name] = entry
    doc["plugins"] = table
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


@pytest.fixture
def clock() -> ManualClock:
    """A :class:`~core.clock.ManualClock` that the scheduler of every runtime of the test reads instead of the real
    time (when a test asks for this fixture): ``clock.advance(60)`` or ``clock.advance(timedelta(days=1))``
    makes jobs due, instead of sleeping. ``clock.sleepers`` counts the tasks waiting on it."""
    return ManualClock()


class RuntimeFactory:
    """Starts omo runtimes connected to the emulator; stops them at teardown."""

    def __init__(self, emulator: Emulator, tmp_path: Any, database_url: str, clock: Clock | None = None) -> None:
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.clock = clock
        self.started: list[Any] = []

    async def __call__(
        self,
        plugins: dict[str, dict[str, Any]] | None = None,
        *,
        owners: Iterable[int] = (),
        connect: bool = True,
        ready_timeout: float = 15.0,
        **options: Any,
    ) -> Any:
        """A started runtime with ``plugins`` (see :func:`omo_plugins`); waits for the gateway to be ready."""
        from core.compose import compose_runtime
        from core.environment import Environment
        from core.runtime import RunOptions

        index = len(self.started)
        plugins_file = self.tmp_path / (f"plugins-{index}.toml" if index else "plugins.toml")
        write_plugins_toml(plugins_file, plugins or {}, owners)
        env = Environment.from_environ(
            {
                "OMO_DATA_DIR": str(self.tmp_path / f"data-{index}"),
                "OMO_PLUGINS_FILE": str(plugins_file),
                "DATABASE_URL": self.database_url,
                "DISCORD_TOKEN": self.emulator.bot_token,
                "OMO_SECRET_KEY": "test-secret-key-not-for-production",
                "DISCORD_CLIENT_ID": str(self.emulator.application_id),
                "DISCORD_CLIENT_SECRET": self.emulator.client_secret,
            }
        )
        settings: dict[str, Any] = {
            "discord_api": self.emulator.base_url,
            "web_port": 0,
            "auto_migrate": True,
            "control_socket": False,
            "connect_gateway": connect,
            "watch_interval": 0.2,
            "bot_options": {"guild_ready_timeout": 0.05},
        }
        opts = RunOptions(**{**settings, **options})
        runtime = compose_runtime(env, opts)
        if self.clock is not None:
            runtime.scheduler.clock = self.clock
        self.started.append(runtime)
        try:
            await runtime.start()
        except BaseException:
            await runtime.stop()
            self.started.remove(runtime)
            raise
        if connect and not await runtime.bot.wait_ready_or_timeout(ready_timeout):
            raise TimeoutError(f"the omo runtime was not ready within {ready_timeout}s")
        return runtime

    async def stop_all(self) -> None:
        """Stop every runtime this factory started."""
        for runtime in reversed(self.started):
            with contextlib.suppress(Exception):
                await runtime.stop()
        self.started.clear()


@pytest_asyncio.fixture
async def runtime_factory(
    emulator: Emulator, tmp_path: Any, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[RuntimeFactory]:
    """``await runtime_factory({"echo": {...}}, owners=[...])``: start omo runtimes against the emulator.
    Their schedulers read the ``clock`` fixture when the test uses it, the real time otherwise."""
    clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else None
    factory = RuntimeFactory(emulator, tmp_path, database_url, clock)
    try:
        yield factory
    finally:
        await factory.stop_all()


@pytest_asyncio.fixture
async def runtime(
    runtime_factory: RuntimeFactory, omo_plugins: dict[str, dict[str, Any]], omo_owners: list[int], guild: Guild
) -> Any:
    """An omo runtime with the plugins of ``omo_plugins`` connected to the emulator (which has ``guild``),
    on SQLite or, with ``OMO_TEST_DATABASE_URL``, PostgreSQL; its dashboard is at ``runtime.web_url``."""
    return await runtime_factory(omo_plugins, owners=omo_owners)


# -- web admin -----------------------------------------------------------------------------------------


class WebClient:
    """An HTTP client logged in to an omo dashboard (the session cookie is kept), with its CSRF token.

    ``client.http`` is the underlying ``httpx.AsyncClient`` (base URL = the dashboard) for raw requests
    (no CSRF token added); ``get``, ``form`` and ``json`` are shortcuts, the last two adding the token.
    """

    def __init__(self, http: Any, user_id: int, csrf_token: str) -> None:
        self.http = http
        self.user_id = user_id
        self.csrf_token = csrf_token

    @property
    def cookies(self) -> dict[str, str]:
        """The client's cookies (name -> value), e.g. to reuse the session cookie elsewhere."""
        return {c.name: c.value for c in self.http.cookies.jar}

    async def get(self, url: str, **kwargs: Any) -> Any:
        """GET ``url`` (relative to the dashboard)."""
        return await self.http.get(url, **kwargs)

    async def form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the CSRF token field."""
        return await self.http.post(url, data={**(data or {}), "csrf_token": self.csrf_token}, **kwargs)

    async def json(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        """Send JSON with the ``X-CSRF-Token`` header (as the dashboard's own scripts do)."""
        headers = {"X-CSRF-Token": self.csrf_token, **kwargs.pop("headers", {})}
        return await self.http.request(method, url, json=body, headers=headers, **kwargs)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


async def web_login_client(runtime: Any, emulator: Emulator, user: Any, **client_options: Any) -> WebClient:
    """Log ``user`` (a Member, User or id) in to ``runtime``'s dashboard through the real OAuth2 round trip.

    GET /auth/login -> the emulator approves as ``user`` -> GET /auth/callback with code and state;
    returns a :class:`WebClient` holding the session cookie and the CSRF token. Raises AssertionError
    with the dashboard's answer if the login does not succeed.
    """
    import re
    from urllib.parse import parse_qs, urlsplit

    import httpx

    user_id = int(getattr(user, "user_id", None) or getattr(user, "id", user))
    http = httpx.AsyncClient(base_url=runtime.web_url, follow_redirects=False, timeout=10.0, **client_options)
    try:
        start = await http.get("/auth/login")
        assert start.status_code in (302, 303), f"/auth/login answered {start.status_code}: {start.text[:300]}"
        query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        back = emulator.approve_oauth(
            user_id, query["client_id"], query["redirect_uri"], query["scope"], query.get("state")
        )
        parts = urlsplit(back)
        done = await http.get(f"{parts.path}?{parts.query}")
        assert done.status_code in (302, 303), f"/auth/callback answered {done.status_code}: {done.text[:300]}"
        page = await http.get("/")
        match = re.search(r'<meta name="csrf-token" content="([^"]*)"', page.text)
        assert match and match.group(1), "no CSRF token on the start page after login"
    except BaseException:
        await http.aclose()
        raise
    return WebClient(http, user_id, match.group(1))


WebLogin = Callable[..., Any]


@pytest_asyncio.fixture
async def web_login(emulator: Emulator) -> AsyncIterator[WebLogin]:
    """``client = await web_login(runtime, member)``: a :class:`WebClient` logged in as ``member`` through the
    emulator's OAuth2 flow (real state check, code exchange and session cookie); closed at teardown."""
    clients: list[WebClient] = []

    async def login(runtime: Any, user: Any, **client_options: Any) -> WebClient:
        client = await web_login_client(runtime, emulator, user, **client_options)
        clients.append(client)
        return client

    try:
        yield login
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()


# -- browser -------------------------------------------------------------------------------------------

#: Set (CI does) to make a missing Chromium a test failure instead of a skip.
REQUIRE_BROWSER_ENV = "OMO_REQUIRE_BROWSER"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable() -> str | None:
    """The system's Chromium (``chromium`` or ``chromium-browser`` on PATH), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium_missing() -> NoReturn:
    """Skip the test for a missing Chromium, or fail it when ``OMO_REQUIRE_BROWSER`` is set."""
    message = "chromium is not installed (apt-get install chromium); CI installs it"
    if os.environ.get(REQUIRE_BROWSER_ENV):
        pytest.fail(message)
    pytest.skip(message)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (the system's ``chromium``, never a downloaded one) driven by Playwright.

    Skips when Chromium is not installed, unless ``OMO_REQUIRE_BROWSER`` is set (then it fails)."""
    executable = chromium_executable()
    if executable is None:
        _chromium_missing()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


# -- markers -------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``@pytest.mark.postgres`` tests without ``OMO_TEST_DATABASE_URL`` and ``@pytest.mark.browser`` tests
    without Chromium (failing them instead when ``OMO_REQUIRE_BROWSER`` is set), before any fixture starts."""
    if item.get_closest_marker("postgres") is not None and not os.environ.get(TEST_DATABASE_ENV):
        pytest.skip(f"needs PostgreSQL: set {TEST_DATABASE_ENV} (e.g. postgres://postgres@127.0.0.1:5432/postgres)")
    if item.get_closest_marker("browser") is not None and chromium_executable() is None:
        _chromium_missing()
