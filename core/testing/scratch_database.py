"""A PostgreSQL database that exists for one test or one benchmark run and is dropped after."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def scratch_postgres_database(admin_url: str, prefix: str = "omo_scratch") -> AsyncIterator[str]:
    """Create a database on the server of ``admin_url``; yield its URL; drop it (even if still in use)."""
    import asyncpg

    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = admin_url.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
