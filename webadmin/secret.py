"""The key that signs session cookies: ``OMO_SECRET_KEY``, or one generated once and kept in the data folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_secret_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, else the stored one, else a new one stored with mode 0600 (sessions survive restarts)."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
