"""Settings that come from the environment: secrets and deployment specifics.

Precedence is environment > plugins.toml > database. Nothing here is ever logged
verbatim: secrets are registered with :func:`core.logging.register_secret`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from core.logging import register_secret

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}$")


def _int_list(name: str, raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.replace(",", " ").split()]
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of Discord user ids, got {raw!r}") from None


def _lease_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 2.0 <= value <= 3600.0:  # NaN fails too
        raise ConfigError(f"OMO_JOB_LEASE_SECONDS must be a number of seconds from 2 to 3600, got {raw[:40]!r}")
    return value


def default_database_url(data_dir: Path) -> str:
    """The SQLite database used when DATABASE_URL is not set."""
    return f"sqlite://{data_dir / 'omo.sqlite3'}"


@dataclass(frozen=True)
class Environment:
    """What the process reads from ``os.environ`` (see docs/operators.md for each variable)."""

    discord_token: str | None = None
    database_url: str = ""
    data_dir: Path = Path(".omo")
    plugins_file: Path = Path("plugins.toml")
    discord_api: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    secret_key: str | None = None
    owners: list[int] = field(default_factory=list)
    log_format: str | None = None
    log_level: str = "INFO"
    job_lease_seconds: float = 30.0

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Environment:
        """Read and check the environment; raise :class:`ConfigError` on a malformed value."""
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("OMO_DATA_DIR", ".omo"))
        database_url = env.get("DATABASE_URL") or default_database_url(data_dir)
        if not re.match(r"^(sqlite|postgres|postgresql|asyncpg|psycopg)://", database_url):
            raise ConfigError("DATABASE_URL must start with sqlite:// or postgres://")
        log_format = env.get("OMO_LOG_FORMAT")
        if log_format not in (None, "json", "console"):
            raise ConfigError(f"OMO_LOG_FORMAT must be json or console, got {log_format!r}")
        for secret in ("DISCORD_TOKEN", "DISCORD_CLIENT_SECRET", "OMO_SECRET_KEY"):
            register_secret(env.get(secret))
        return cls(
            discord_token=env.get("DISCORD_TOKEN") or None,
            database_url=database_url.replace("postgresql://", "postgres://", 1),
            data_dir=data_dir,
            plugins_file=Path(env.get("OMO_PLUGINS_FILE", "plugins.toml")),
            discord_api=env.get("OMO_DISCORD_API") or None,
            client_id=env.get("DISCORD_CLIENT_ID") or None,
            client_secret=env.get("DISCORD_CLIENT_SECRET") or None,
            secret_key=env.get("OMO_SECRET_KEY") or None,
            owners=_int_list("OMO_OWNERS", env["OMO_OWNERS"]) if env.get("OMO_OWNERS") else [],
            log_format=log_format,
            log_level=env.get("OMO_LOG_LEVEL", "INFO").upper(),
            job_lease_seconds=_lease_seconds(env.get("OMO_JOB_LEASE_SECONDS", "30")),
        )

    @property
    def is_postgres(self) -> bool:
        """True when the database is PostgreSQL."""
        return self.database_url.startswith(("postgres://", "asyncpg://", "psycopg://"))


def token_problem(token: str | None) -> str | None:
    """Why ``token`` cannot be a Discord bot token, or None when its shape is right."""
    if not token:
        return "no DISCORD_TOKEN set"
    if token.startswith(("Bot ", "Bearer ")):
        return "DISCORD_TOKEN must be the bare token, without a 'Bot ' prefix"
    if not TOKEN_SHAPE.match(token):
        return "DISCORD_TOKEN does not look like a bot token (three dot-separated base64 parts)"
    return None
