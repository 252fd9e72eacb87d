"""A PostgreSQL "connection" that never connects: Tortoise backend for writing migrations offline.

``omo db migrate`` and ``omo new-plugin`` generate the PostgreSQL SQL of a migration without a
server. Tortoise's asyncpg backend imports asyncpg, which only the ``postgres`` extra installs; this
backend needs nothing beyond Tortoise itself, so the scaffold works on the plain install.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base_postgres.client import BasePostgresClient


def _offline(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("the offline PostgreSQL client only generates SQL; it cannot connect")


class OfflinePostgresClient(BasePostgresClient):
    """Speaks PostgreSQL's dialect (schema generator, query builder) and refuses to connect."""

    create_connection = create_pool = _in_transaction = _translate_exceptions = _close = _expire_connections = _offline
    execute_insert = execute_many = execute_query = execute_query_dict = _offline

    async def close(self) -> None:
        """Nothing to close."""


#: What Tortoise looks up in a backend module named as ``engine``.
client_class = OfflinePostgresClient

#: The connection config to write PostgreSQL migrations with.
CONNECTION: dict[str, Any] = {
    "engine": "core.offline_postgres",
    "credentials": {"host": "127.0.0.1", "port": 1, "user": "omo", "password": "", "database": "omo"},
}
