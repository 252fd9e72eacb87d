"""Tortoise set-up: one app per plugin plus ``core``, SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import structlog
from tortoise import Tortoise, connections
from tortoise.exceptions import DBConnectionError, OperationalError

from core.errors import DatabaseError

log = structlog.get_logger("omo.db")
T = TypeVar("T")

CORE_APP = "core"
CORE_MODELS = ("core.models", "aerich.models")

try:  # asyncpg is optional (extra "postgres")
    import asyncpg

    _TRANSIENT: tuple[type[BaseException], ...] = (
        DBConnectionError,
        ConnectionError,
        OSError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.exceptions.OperatorInterventionError,
        asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.InternalClientError,
    )
except ImportError:  # pragma: no cover - depends on the install
    _TRANSIENT = (DBConnectionError, ConnectionError, OSError)


def tortoise_config(database_url: str, plugin_models: dict[str, str]) -> dict[str, Any]:
    """Tortoise config with app ``core`` and one app per plugin (``{plugin: models_module}``)."""
    apps: dict[str, Any] = {CORE_APP: {"models": list(CORE_MODELS), "default_connection": "default"}}
    for plugin, module in sorted(plugin_models.items()):
        apps[plugin] = {"models": [module], "default_connection": "default"}
    return {"connections": {"default": database_url}, "apps": apps, "use_tz": True, "timezone": "UTC"}


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the folder of a file-backed SQLite database."""
    if database_url.startswith("sqlite://") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


async def _renew_pool() -> None:
    """After a connection error, drop the pool: its connections may all be dead. The next query opens a
    new pool (Tortoise creates one lazily); work still holding an old connection fails and retries."""
    try:
        client = connections.get("default")
        pool = getattr(client, "_pool", None)
        if pool is not None and hasattr(pool, "terminate"):
            client._pool = None
            pool.terminate()
    except Exception:
        log.debug("could not renew the connection pool", exc_info=True)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it: Tortoise wraps driver errors) is a connection problem worth a retry."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _TRANSIENT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _as_coroutine(op: Callable[[], Awaitable[T]]) -> T:
    return await op()


async def retrying(op: Callable[[], Awaitable[T]], *, what: str, attempts: int = 5, base: float = 0.2) -> T:
    """Run ``op``, retrying transient database errors with exponential backoff."""
    # Each attempt runs in its own copy of the caller's context: a failed transaction can leave its dead
    # connection in Tortoise's context variables, and the next attempt must not inherit it.
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    for attempt in range(1, attempts + 1):
        try:
            return await loop.create_task(_as_coroutine(op), context=context.copy())
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise DatabaseError(f"database unreachable while {what}: {exc}") from exc
            delay = base * 2 ** (attempt - 1)
            log.warning("database error, retrying", what=what, attempt=attempt, delay=delay, error=str(exc))
            await asyncio.sleep(delay)
            await _renew_pool()
    raise AssertionError("unreachable")


#: The database this process is connected to, and how many callers of :func:`connect` hold it.
_url: str | None = None
_holders = 0


async def connect(database_url: str, plugin_models: dict[str, str], *, attempts: int = 5) -> dict[str, Any]:
    """Initialise Tortoise and check the database answers; raise :class:`DatabaseError` if not.

    Tortoise is process-wide: several runtimes in one process (tests, benchmarks) share one
    connection set when they use the same database, and must all call :func:`close`.
    """
    global _url, _holders
    ensure_sqlite_dir(database_url)
    config = tortoise_config(database_url, plugin_models)
    if _url is not None:
        if _url != database_url:
            raise DatabaseError(f"this process already uses another database ({_url.split('://')[0]})")
        _holders += 1
        return config

    async def init() -> None:
        await _close()  # an earlier failed attempt may have left a half-open ORM context behind
        # global fallback: the web server's and the gateway's tasks see the same ORM context
        await Tortoise.init(config=config, _enable_global_fallback=True)
        await connections.get("default").execute_query("SELECT 1")

    try:
        await retrying(init, what="connecting", attempts=attempts)
    except BaseException as exc:
        await _close()
        if isinstance(exc, OperationalError):
            raise DatabaseError(f"cannot open the database: {exc}") from exc
        raise
    _url, _holders = database_url, 1
    return config


def in_use() -> bool:
    """Whether this process already holds a database connection set."""
    return _url is not None


async def _close() -> None:
    try:
        await Tortoise.close_connections()
    except Exception:
        log.warning("error while closing the database", exc_info=True)


async def close() -> None:
    """Release this user's hold on the database; the last one closes the connections."""
    global _url, _holders
    if _holders > 1:
        _holders -= 1
        return
    _url, _holders = None, 0
    await _close()


def dialect() -> str:
    """``sqlite`` or ``postgres``: the dialect of the default connection."""
    return str(connections.get("default").capabilities.dialect)
