"""Logging: JSON in production, console in development, context bound per event, secrets never printed."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from core.logging import LogFormat, configure_logging, get_logger, register_secret

TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GhAbCd.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.contextvars.clear_contextvars()
    configure_logging("console", "INFO")


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_lines_carry_bound_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    with structlog.contextvars.bound_contextvars(plugin="echo", guild_id=42, user_id=7):
        get_logger("omo.test").info("command run", command="echo")

    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "command run"
    assert (line["plugin"], line["guild_id"], line["user_id"], line["command"]) == ("echo", 42, 7, "echo")
    assert line["level"] == "info" and "timestamp" in line


def test_secrets_are_redacted_by_key_and_by_shape(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    register_secret("client-secret-value-123")
    log = get_logger("omo.test")
    log.info("login", token=TOKEN, client_secret="client-secret-value-123", cookie="session=abc")
    log.info(f"connecting with {TOKEN}")
    log.info("header", value="Authorization: Bearer abcdefghijklmnop", url="postgres://omo:hunter2@db/omo")
    log.info("oops the secret client-secret-value-123 leaked into a message")
    logging.getLogger("discord.http").warning("token %s rejected", TOKEN)

    out = capsys.readouterr().err
    assert TOKEN not in out
    assert "client-secret-value-123" not in out
    assert "hunter2" not in out and "abcdefghijklmnop" not in out and "session=abc" not in out
    assert out.count("[redacted]") >= 7


def test_console_format_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("console", "INFO")
    get_logger("omo.test").warning("something happened", plugin="echo")

    err = capsys.readouterr().err
    assert "something happened" in err and "plugin=echo" in err and not err.lstrip().startswith("{")


def test_ids_named_like_secrets_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    get_logger("omo.test").info("session", session_id=12, token_count=3)

    (line,) = _lines(capsys.readouterr().err)
    assert line["session_id"] == 12 and line["token_count"] == 3


# -- tracebacks: no locals unless asked, redaction over the rendered line ------------------------------------

MARKER = "frame-local-marker-7d1"


def _fail_holding_the_token() -> None:
    token = TOKEN
    marker = MARKER
    headers = {"Authorization": f"Bot {token}", "User-Agent": marker}
    raise RuntimeError(f"request refused (sent {len(headers)} headers with token {token})")


def _log_everything() -> None:
    """An exception logged through structlog, through a stdlib logger, and as asyncio's unretrieved task."""
    try:
        _fail_holding_the_token()
    except RuntimeError:
        get_logger("omo.test").exception("handler failed")
        logging.getLogger("discord.client").exception("Ignoring exception in on_message")

    async def unretrieved() -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(asyncio.to_thread(_fail_holding_the_token))
        await asyncio.wait([task])
        del task  # never retrieved: asyncio logs "Task exception was never retrieved" when it is collected
        gc.collect()

    asyncio.run(unretrieved())


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_hold_no_locals_and_no_token(fmt: LogFormat, capsys: pytest.CaptureFixture[str]) -> None:
    register_secret(TOKEN)
    configure_logging(fmt, "INFO")

    _log_everything()

    out = capsys.readouterr().err
    assert "handler failed" in out and "Ignoring exception in on_message" in out
    assert "Task exception was never retrieved" in out
    assert out.count("_fail_holding_the_token") >= 3  # the tracebacks are there...
    assert MARKER not in out  # ...without the frames' local variables
    assert TOKEN not in out and TOKEN.split(".")[2] not in out
    if fmt == "json":
        lines = _lines(out)
        assert len(lines) == 3
        for line in lines:
            frames = [frame for exc in line["exception"] for frame in exc["frames"]]  # type: ignore[attr-defined]
            assert frames and all("locals" not in frame for frame in frames)


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_debug_switch_shows_locals_still_redacted(
    fmt: LogFormat, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    register_secret(TOKEN)
    monkeypatch.setenv("OMO_LOG_LOCALS", "1")
    configure_logging(fmt, "INFO")

    _log_everything()

    out = capsys.readouterr().err
    assert MARKER in out  # the locals are shown...
    assert TOKEN not in out and TOKEN.split(".")[2] not in out  # ...and the token in them is not
    assert "[redacted]" in out


def test_secret_in_json_escaped_form_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    odd = 'sec"ret\\value-42'
    register_secret(odd)
    configure_logging("json", "INFO")

    get_logger("omo.test").info("message", detail=f"the value is {odd}")
    try:
        raise ValueError(f"bad {odd}")
    except ValueError:
        get_logger("omo.test").exception("failed")

    out = capsys.readouterr().err
    assert 'sec\\"ret' not in out and 'sec"ret' not in out
