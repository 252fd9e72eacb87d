"""Logging: JSON in production, console in development, context bound per event, secrets never printed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from core.logging import configure_logging, get_logger, register_secret

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
