"""Helpers for the CLI tests: run the real ``omo`` (``python -m core.cli``) in a subprocess.

Each test gets its own data folder, plugins.toml and database (SQLite in ``tmp_path``, or a fresh
PostgreSQL database with ``OMO_TEST_DATABASE_URL``), and no DISCORD_TOKEN.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Shaped like a Discord bot token (core.environment.TOKEN_SHAPE); not a real one.
FAKE_TOKEN = "MTA" + "x" * 21 + "." + "abcdef" + "." + "y" * 27
ECHO_TOML = '[plugins.echo]\nenabled = true\nmodule = "tests.sample_plugins.echo"\n'


@dataclass
class Result:
    """What one ``omo`` run did."""

    code: int
    out: str
    err: str


@dataclass
class Omo:
    """Runs ``omo`` with an environment of its own."""

    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.env["OMO_DATA_DIR"])

    @property
    def plugins_file(self) -> Path:
        return Path(self.env["OMO_PLUGINS_FILE"])

    def write_plugins(self, text: str) -> Path:
        self.plugins_file.write_text(text, encoding="utf-8")
        return self.plugins_file

    async def start(self, *args: str, **extra_env: str) -> asyncio.subprocess.Process:
        """Start ``omo ARGS`` without waiting for it."""
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "core.cli",
            *args,
            cwd=REPO,
            env={**self.env, **extra_env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def __call__(self, *args: str, timeout: float = 60.0, **extra_env: str) -> Result:
        """Run ``omo ARGS`` to completion."""
        proc = await self.start(*args, **extra_env)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())


def base_env(tmp: Path, database_url: str) -> dict[str, str]:
    """The parent's environment without omo's variables, pointed into ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMO_", "DISCORD_")) and k != "DATABASE_URL"}
    if os.environ.get("OMO_TEST_DATABASE_URL"):
        env["OMO_TEST_DATABASE_URL"] = os.environ["OMO_TEST_DATABASE_URL"]
    env.update(
        {
            "OMO_DATA_DIR": str(tmp / "data"),
            "OMO_PLUGINS_FILE": str(tmp / "plugins.toml"),
            "DATABASE_URL": database_url,
            "OMO_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def omo(tmp_path: Path, database_url: str) -> Omo:
    """``await omo("check")`` runs the real CLI against this test's files and database."""
    return Omo(tmp_path, base_env(tmp_path, database_url))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
