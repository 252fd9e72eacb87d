"""Helpers for the config plugin's tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from plugins.config.service import ConfigService

ECHO = {"module": "tests.sample_plugins.echo"}
TYPED = {"module": "tests.config.typed_plugin"}


def service(runtime: Any) -> ConfigService:
    """The config service of ``runtime`` (the running version's state: a reload replaces it)."""
    loaded = runtime.host.loaded("config")
    assert loaded is not None, "the config plugin is not running"
    service: ConfigService = loaded.context.state
    return service


@dataclass
class QueryLog(logging.Handler):
    """Counts the SQL statements Tortoise sends (its ``tortoise.db_client`` debug log)."""

    statements: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())

    def __hash__(self) -> int:
        return id(self)


@contextmanager
def count_queries() -> Iterator[QueryLog]:
    """Collect every SQL statement run inside the block."""
    logger = logging.getLogger("tortoise.db_client")
    handler = QueryLog()
    old_level, old_disabled = logger.level, logger.disabled
    logger.setLevel(logging.DEBUG)
    logger.disabled = False
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.disabled = old_disabled
