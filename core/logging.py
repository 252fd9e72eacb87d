"""structlog set-up: JSON lines in production, a readable console in development.

Tracebacks carry no local variables (a frame of discord.py's HTTP client holds the request headers,
``Authorization: Bot <token>`` included) unless ``OMO_LOG_LOCALS=1`` asks for them while debugging.
Redaction runs last: secret-named keys are blanked in the event (exception dicts included), then the
rendered line itself is scrubbed of every known secret and token-shaped string, so a bot token, client
secret, cookie or bearer token never reaches the output, not even through a formatted traceback, a
stdlib logger or asyncio's "Task exception was never retrieved".
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
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


def scrub_rendered(text: str) -> str:
    """:func:`scrub` for a rendered line, which may hold a secret in its JSON-escaped form too."""
    for secret in _known_secrets:
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret and escaped in text:
            text = text.replace(escaped, REDACTED)
    return scrub(text)


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
    if isinstance(value, list | tuple):
        return [_scrub_value("", item) for item in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: blank secret-named keys and token-shaped values (in nested dicts and lists too)."""
    for key in list(event_dict):
        event_dict[key] = _scrub_value(key, event_dict[key])
    return event_dict


def redact_rendered(_logger: Any, _method: str, rendered: str) -> str:
    """structlog processor after the renderer: scrub the finished line (see :func:`scrub_rendered`)."""
    return scrub_rendered(rendered)


def locals_wanted() -> bool:
    """Whether tracebacks show local variables: only with ``OMO_LOG_LOCALS=1`` (a debugging switch)."""
    return os.environ.get("OMO_LOG_LOCALS", "").strip().lower() in ("1", "true", "yes", "on")


def _text_traceback(show_locals: bool) -> Any:
    def render(exc_info: Any) -> str:
        exc_type, exc, tb = exc_info
        return "".join(traceback.TracebackException(exc_type, exc, tb, capture_locals=show_locals).format()).rstrip()

    return render


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
    ]


def _final_processors(fmt: LogFormat, show_locals: bool) -> list[Any]:
    """Exception rendering (locals only when asked), redaction of the event, the renderer, redaction of the line."""
    if fmt == "json":
        exceptions = structlog.tracebacks.ExceptionDictTransformer(show_locals=show_locals)
        renderer: Any = structlog.processors.JSONRenderer()
    else:
        exceptions = _text_traceback(show_locals)
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.ExceptionRenderer(exceptions),
        redact_secrets,
        renderer,
        redact_rendered,
    ]


def configure_logging(
    fmt: LogFormat | None = None, level: str | int = "INFO", *, show_locals: bool | None = None
) -> None:
    """Route structlog and the standard library (discord.py, tortoise, hypercorn) to one output.

    ``fmt`` defaults to ``console`` on a terminal and ``json`` otherwise; ``show_locals`` (tracebacks with
    local variables, still redacted) defaults to :func:`locals_wanted`.
    """
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    final = _final_processors(fmt, locals_wanted() if show_locals is None else show_locals)
    shared = _shared_processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=final,
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
