"""Operator API tokens: created once (the clear token is shown a single time), stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.models import ApiToken

PREFIX = "omo_"
#: ``last_used_at`` is written at most this often per token (one write per request would be wasteful).
TOUCH_EVERY = timedelta(seconds=60)


class TokenError(ValueError):
    """A token request that cannot be honoured (bad name, unknown token)."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    id: int
    name: str
    secret: str


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(name: str, created_by: int) -> IssuedToken:
    """Create a token named ``name`` for operator ``created_by``."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("give the token a name of 1 to 100 characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(name=name, token_hash=hash_token(secret), created_by=created_by)
    return IssuedToken(row.id, row.name, secret)


async def revoke_token(token_id: int) -> ApiToken:
    """Revoke token ``token_id`` (idempotent); raises :class:`TokenError` if there is no such token."""
    row = await ApiToken.get_or_none(id=token_id)
    if row is None:
        raise TokenError(f"there is no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await row.save(update_fields=["revoked_at"])
    return row


async def list_tokens() -> list[ApiToken]:
    """Every token, newest first."""
    return await ApiToken.all().order_by("-created_at", "-id")


async def verify_token(secret: str) -> ApiToken | None:
    """The live (not revoked) token whose clear text is ``secret``, else None; records its use."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = await ApiToken.get_or_none(token_hash=hash_token(secret))
    if row is None or row.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
        await row.save(update_fields=["last_used_at"])
    return row
