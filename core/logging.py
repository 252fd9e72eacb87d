"""structlog set-up: JSON lines in production, a readable console in development.

Every log line passes through :func:`redact_secrets`, so a bot token, client
secret, cookie or bearer token never reaches the output even when a caller
passes one by mistake.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

LogFormat = Literal["json", "console"]

_SECRET_KEYS = re.compile(
    r"(token|secret|password|passwd|cookie|authorization|api[_-]?key|session|csrf)", re.IGNORECASE
)
# A Discord bot token: base64 user id, timestamp and HMAC separated by dots.
_DISCORD_TOKEN = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
_BEARER = re.compile(r"(?i)\b(bearer|bot)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
REDACTED = "[redacted]"
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Make ``value`` (a token, a client secret) redacted wherever it appears in a log line."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def scrub(text: str) -> str:
    """Return ``text`` with every known secret and every token-shaped string replaced."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _DISCORD_TOKEN.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)


def _scrub_value(key: str, value: Any) -> Any:
    if (
        isinstance(key, str)
        and _SECRET_KEYS.search(key)
        and value not in (None, "", False)
        and not key.endswith("_id")
        and not isinstance(value, bool | int | float)
    ):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_value(str(k), v) for k, v in value.items()}
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: blank secret-named keys and token-shaped values."""
    for key in list(event_dict):
        event_dict[key] = _scrub_value(key, event_dict[key])
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        redact_secrets,
    ]


def configure_logging(fmt: LogFormat | None = None, level: str | int = "INFO") -> None:
    """Route structlog and the standard library (discord.py, tortoise, hypercorn) to one output.

    ``fmt`` defaults to ``console`` on a terminal and ``json`` otherwise.
    """
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        final: list[Any] = [structlog.processors.dict_tracebacks, renderer]
    else:
        final = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    shared = _shared_processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_omo", False):
            root.removeHandler(old)
    handler._omo = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("discord.gateway", "discord.client", "hypercorn.access", "tortoise", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str, **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` with ``context`` bound."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger.bind(**context) if context else logger
